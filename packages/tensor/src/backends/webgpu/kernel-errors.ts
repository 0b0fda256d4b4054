// Errors found inside kernels. A shader cannot throw, so a kernel that meets bad input (an
// index out of range computed on the GPU, a probability outside [0, 1], an int32 sum that
// does not fit int32) does the safe thing (reads a zero row, drops the write, stores a
// placeholder) and records the first failure in a small buffer of atomics that every kernel
// able to fail binds. Every readback (`read()`) copies that buffer along with its data and,
// if a failure is recorded, clears it and throws an error naming the op and the value: the
// error surfaces at the next read, as a CUDA assert does in PyTorch, and nothing fails silently.

/** Turns the two payload words a kernel reported into the error's text (after "op: "). */
export type KernelErrorFormat = (a: number, b: number) => string;

/** index, rows: an index out of range, as `report_index_error` records it. */
const indexError: KernelErrorFormat = (bits, rows) => `index ${bits | 0} is out of range for ${rows} rows (valid: 0..${rows - 1})`;

/** Per key (op name, plus the format's kind for other errors) its error code (1, 2, ...: 0 means no error). */
const codes = new Map<string, number>();
const entries: { op: string; format: KernelErrorFormat; plural: string }[] = [];

function register(key: string, op: string, format: KernelErrorFormat, plural: string): number {
  let c = codes.get(key);
  if (c === undefined) {
    c = entries.length + 1;
    codes.set(key, c);
    entries.push({ op, format, plural });
  }
  return c;
}

/** The code a kernel of `op` reports an out-of-range index with (registered on first use). */
export function kernelErrorCode(op: string): number {
  return register(op, op, indexError, 'out-of-range indices');
}

/**
 * The code a kernel of `op` reports another kind of failure with, `kind` naming it; the
 * kernel passes two u32 words (`report_kernel_error(code, a, b)`) that `format` turns into
 * the message, and `plural` names the failures counted after the first ("values out of
 * range"). Registered on first use, one code per (op, kind).
 */
export function kernelErrorCodeFor(op: string, kind: string, format: KernelErrorFormat, plural: string): number {
  return register(`${op}\u0000${kind}`, op, format, plural);
}

/**
 * WGSL declaring the error buffer at `binding`, `report_kernel_error(code, a, b)` and
 * `report_index_error(code, index, rows)`. The first failing thread wins; later ones only count.
 */
export function kernelErrorWgsl(binding: number): string {
  return `@group(0) @binding(${binding}) var<storage, read_write> kernel_error: array<atomic<u32>, 4>;
fn report_kernel_error(code: u32, a: u32, b: u32) {
  if (atomicAdd(&kernel_error[0], 1u) == 0u) {
    atomicStore(&kernel_error[1], code);
    atomicStore(&kernel_error[2], a);
    atomicStore(&kernel_error[3], b);
  }
}
fn report_index_error(code: u32, index: i32, rows: u32) { report_kernel_error(code, bitcast<u32>(index), rows); }`;
}

/** The words read back from the error buffer: [count, code, payload a, payload b]. */
export function kernelErrorMessage(words: Uint32Array): string | null {
  const [count, code, a, b] = [words[0]!, words[1]!, words[2]!, words[3]!];
  if (count === 0) return null;
  const entry = entries[code - 1];
  const more = count > 1 ? ` (and ${count - 1} more ${entry?.plural ?? 'failures'})` : '';
  const what = entry ? `${entry.op}: ${entry.format(a, b)}` : `kernel ${code}: error (${a}, ${b})`;
  return `${what}${more}; found by a GPU kernel, so reported at the first read after it`;
}

/** The f32 whose bits are `bits` (for a value a kernel reported). */
export function f32FromBits(bits: number): number {
  return new Float32Array(new Uint32Array([bits]).buffer)[0]!;
}

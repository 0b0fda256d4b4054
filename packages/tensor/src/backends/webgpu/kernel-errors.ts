// Errors found inside kernels. A shader cannot throw, so a kernel that meets bad input (an
// index out of range computed on the GPU) does the safe thing (reads a zero row, drops the
// write) and records the first failure in a small buffer of atomics that every kernel able
// to fail binds. Every readback (`read()`) copies that buffer along with its data and, if a
// failure is recorded, clears it and throws an error naming the op and the value: the error
// surfaces at the next read, as a CUDA assert does in PyTorch, and nothing fails silently.

/** Per op name, its error code (1, 2, ...: 0 means no error) and back. */
const codes = new Map<string, number>();
const names: string[] = [''];

/** The code a kernel of `op` reports with (registered on first use). */
export function kernelErrorCode(op: string): number {
  let c = codes.get(op);
  if (c === undefined) {
    c = names.length;
    codes.set(op, c);
    names.push(op);
  }
  return c;
}

/**
 * WGSL declaring the error buffer at `binding` and `report_index_error(code, index, rows)`.
 * The first failing thread wins; later ones only count.
 */
export function kernelErrorWgsl(binding: number): string {
  return `@group(0) @binding(${binding}) var<storage, read_write> kernel_error: array<atomic<u32>, 4>;
fn report_index_error(code: u32, index: i32, rows: u32) {
  if (atomicAdd(&kernel_error[0], 1u) == 0u) {
    atomicStore(&kernel_error[1], code);
    atomicStore(&kernel_error[2], bitcast<u32>(index));
    atomicStore(&kernel_error[3], rows);
  }
}`;
}

/** The words read back from the error buffer: [count, code, index bits, rows]. */
export function kernelErrorMessage(words: Uint32Array): string | null {
  const [count, code, bits, rows] = [words[0]!, words[1]!, words[2]!, words[3]!];
  if (count === 0) return null;
  const index = bits | 0;
  const more = count > 1 ? ` (and ${count - 1} more out-of-range indices)` : '';
  return (
    `${names[code] ?? `kernel ${code}`}: index ${index} is out of range for ${rows} rows (valid: 0..${rows - 1})${more}; ` +
    'found by a GPU kernel, so reported at the first read after it'
  );
}

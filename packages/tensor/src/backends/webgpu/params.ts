// Kernel parameters travel as one uniform block of 32-bit words. Every kernel declares it
// with PARAMS_WGSL and reads word i with pu(i) (u32), pi(i) (i32) or pf(i) (f32), so the
// host side is a flat list and no kernel needs its own struct layout rules.

/** Most words a kernel may take: the runtime's 256-byte uniform slot. */
export const MAX_PARAM_WORDS = 64;
/** Highest tensor rank the strided kernels index (their shapes and strides live in the params). */
export const MAX_RANK = 8;

export const PARAMS_WGSL = /* wgsl */ `
struct Params { w: array<vec4<u32>, ${MAX_PARAM_WORDS / 4}> }
fn pu(i: u32) -> u32 { return params.w[i / 4u][i % 4u]; }
fn pi(i: u32) -> i32 { return bitcast<i32>(pu(i)); }
fn pf(i: u32) -> f32 { return bitcast<f32>(pu(i)); }
// NaN by its bits: a compiler may assume x != x is false for floats.
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
// log(1 + x) without losing x when it is tiny (WGSL has no log1p).
fn log1p_f32(x: f32) -> f32 { let w = 1.0 + x; return select(log(w) * x / (w - 1.0), x, w == 1.0); }
// erfc with relative error below 1.2e-7 everywhere (a Chebyshev fit, Numerical Recipes' erfcc).
fn erfc_f32(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(2.0 - r, r, x >= 0.0);
}
`;

/** Builds the words of a parameter block. */
export class Params {
  private readonly words = new Uint32Array(MAX_PARAM_WORDS);
  private readonly asF32 = new Float32Array(this.words.buffer);
  private readonly asI32 = new Int32Array(this.words.buffer);
  private n = 0;

  constructor(private readonly op: string) {}

  private next(): number {
    if (this.n >= MAX_PARAM_WORDS) throw new Error(`${this.op}: kernel parameters exceed ${MAX_PARAM_WORDS} words`);
    return this.n++;
  }

  /** Appends unsigned 32-bit integers (read in WGSL with `pu(i)`). */
  u32(...v: number[]): this {
    for (const x of v) this.words[this.next()] = x >>> 0;
    return this;
  }

  /** Appends signed 32-bit integers (read in WGSL with `pi(i)`). */
  i32(...v: number[]): this {
    for (const x of v) this.asI32[this.next()] = x;
    return this;
  }

  /** Appends 32-bit floats (read in WGSL with `pf(i)`). */
  f32(...v: number[]): this {
    for (const x of v) {
      // f32 has no infinities in WGSL's constant rules, but bit patterns pass through fine.
      this.asF32[this.next()] = x;
    }
    return this;
  }

  /** `values` padded with `fill` to exactly `len` words (shapes and strides of rank <= MAX_RANK). */
  u32Padded(values: readonly number[], len: number, fill = 0): this {
    if (values.length > len) throw new Error(`${this.op}: rank ${values.length} exceeds the supported ${len}`);
    for (let i = 0; i < len; i++) this.u32(i < values.length ? values[i]! : fill);
    return this;
  }

  /** Only the words written so far (the runtime copies them into the uniform slot). */
  get data(): Uint32Array {
    return this.words.subarray(0, Math.max(this.n, 4));
  }
}

// Element types: float32 (the default, both backends), float64 (CPU only: the reference
// oracle), int32 (indices) and bool (masks: logical ops, isnan). Maps each to the typed
// array that stores it on the host (bool: one byte, 0 or 1; the GPU stores it as u32).

/** The element types: float32 (every backend), float64 (CPU only), int32, bool. */
export type DType = 'float32' | 'float64' | 'int32' | 'bool';
/** The typed arrays that hold values on the host, one per dtype. */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

export function bytesPerElement(dtype: DType): number {
  return dtype === 'float64' ? 8 : 4;
}

/** A zeroed typed array of `size` elements of `dtype`. */
export function allocArray(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size);
    case 'float64':
      return new Float64Array(size);
    case 'int32':
      return new Int32Array(size);
    case 'bool':
      return new Uint8Array(size);
  }
}

/** Copies (and converts) `src` into a new typed array of `dtype`. */
export function toTypedArray(src: ArrayLike<number>, dtype: DType): TypedArray {
  const out = allocArray(dtype, src.length);
  if (dtype === 'int32') {
    for (let i = 0; i < src.length; i++) {
      // Truncation toward zero, like PyTorch's float -> int cast; out of range saturates and
      // NaN gives 0 (PyTorch leaves both undefined), the same on every backend.
      out[i] = floatToInt32(src[i]!);
    }
  } else if (dtype === 'bool') {
    // Any nonzero value is true, NaN included, as in PyTorch.
    for (let i = 0; i < src.length; i++) out[i] = src[i] === 0 ? 0 : 1;
  } else {
    out.set(src);
  }
  return out;
}

/** float -> int32: toward zero, saturated to the int32 range, NaN to 0. */
export function floatToInt32(v: number): number {
  if (Number.isNaN(v)) return 0;
  return Math.max(-2147483648, Math.min(2147483647, Math.trunc(v)));
}

export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint8Array) return 'bool';
  return 'float32';
}

// CPU kernel of checkRange: raises at the call, naming the op, the first offending value and its index.

import type { KernelInput } from '../../backend.js';
import type { TypedArray } from '../../dtype.js';
import type { CheckRangeAttrs } from '../../attrs.js';

/** The error text checkRange raises on both backends (after the op's name). */
export function rangeErrorMessage(what: string, value: number, index: number): string {
  return `${what}, got ${value} at index ${index}`;
}

/** Throws if an element of x is outside [lo, hi] or NaN. */
export function checkRangeCpu(x: KernelInput<TypedArray>, { op, lo, hi, what }: CheckRangeAttrs): void {
  const d = x.data;
  for (let i = 0; i < x.size; i++) {
    const v = d[i]!;
    if (!(v >= lo && v <= hi)) throw new Error(`${op}: ${rangeErrorMessage(what, v, i)}`);
  }
}

// Printing a tensor's values as PyTorch does (`torch._tensor_str`): `tensor([[1., 2.],
// [3., 4.]])` with PyTorch's number formats (integral floats as `1.`, else 4 decimals,
// scientific when the magnitudes span more than 1000x or leave [1e-4, 1e8]), right-aligned
// columns, rows on their own lines, lines wrapped at 80 characters, and more than 1000
// elements summarised with `...` (3 items at each edge).

import type { DType } from './dtype.js';

/** PyTorch's print options (`torch.set_printoptions` defaults). */
const PRECISION = 4;
const THRESHOLD = 1000;
const EDGE_ITEMS = 3;
const LINE_WIDTH = 80;

type Values = ArrayLike<number>;

/** Formats one number the way every element of this tensor is formatted, and the common width. */
class Formatter {
  private readonly mode: 'bool' | 'int' | 'intFloat' | 'fixed' | 'sci';
  readonly width: number;

  constructor(dtype: DType, shown: readonly number[]) {
    if (dtype === 'bool' || dtype === 'int32') {
      this.mode = dtype === 'bool' ? 'bool' : 'int';
      this.width = shown.reduce((w, v) => Math.max(w, this.raw(v).length), 1);
      return;
    }
    // As PyTorch's _Formatter: the mode and the width come from the nonzero finite values.
    const vals = shown.filter((v) => Number.isFinite(v) && v !== 0);
    const abs = vals.map(Math.abs);
    const max = Math.max(...abs);
    const min = Math.min(...abs);
    const spread = vals.length > 0 && (max / min > 1000 || max > 1e8);
    if (vals.every((v) => Math.ceil(v) === v)) this.mode = spread ? 'sci' : 'intFloat';
    else this.mode = spread || min < 1e-4 ? 'sci' : 'fixed';
    this.width = vals.reduce((w, v) => Math.max(w, this.raw(v).length), 1);
  }

  private raw(v: number): string {
    if (this.mode === 'bool') return v !== 0 ? 'True' : 'False';
    if (this.mode === 'int') return String(v);
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    if (this.mode === 'intFloat') return `${Object.is(v, -0) ? '-' : ''}${v.toFixed(0)}.`;
    if (this.mode === 'fixed') return v.toFixed(PRECISION);
    // Python's '{:.4e}': a two-digit exponent at least.
    const [m, e] = v.toExponential(PRECISION).split('e') as [string, string];
    const sign = e.startsWith('-') ? '-' : '+';
    const digits = e.replace(/^[+-]/, '');
    return `${m}e${sign}${digits.padStart(2, '0')}`;
  }

  format(v: number): string {
    return this.raw(v).padStart(this.width);
  }
}

function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) out[i] = out[i + 1]! * shape[i + 1]!;
  return out;
}

/** The indices along a dimension of `n` that are printed (all, or the edges when summarising). */
function shownIndices(n: number, summarize: boolean): (number | null)[] {
  if (!summarize || n <= 2 * EDGE_ITEMS) return Array.from({ length: n }, (_, i) => i);
  const head = Array.from({ length: EDGE_ITEMS }, (_, i) => i);
  const tail = Array.from({ length: EDGE_ITEMS }, (_, i) => n - EDGE_ITEMS + i);
  return [...head, null, ...tail];
}

/**
 * The values as PyTorch prints them inside `tensor(...)`, `indent` being the column the
 * opening bracket sits at (7 for `tensor(`).
 *
 * @example
 * formatValues(new Float32Array([1, 2, 3, 4]), [2, 2], 'float32', 7); // '[[1., 2.],\n        [3., 4.]]'
 */
export function formatValues(data: Values, shape: readonly number[], dtype: DType, indent: number): string {
  const size = shape.reduce((a, b) => a * b, 1);
  const summarize = size > THRESHOLD;
  const st = strides(shape);
  // The formatter sees only the values that are shown, as PyTorch's does.
  const shown: number[] = [];
  const collect = (offset: number, dim: number): void => {
    if (dim === shape.length) {
      shown.push(data[offset]!);
      return;
    }
    for (const i of shownIndices(shape[dim]!, summarize)) if (i !== null) collect(offset + i * st[dim]!, dim + 1);
  };
  if (size > 0) collect(0, 0);
  const fmt = new Formatter(dtype, shown);

  const render = (offset: number, dim: number, ind: number): string => {
    const rank = shape.length - dim;
    const idx = shownIndices(shape[dim]!, summarize);
    if (rank === 1) {
      const items = idx.map((i) => (i === null ? ' ...' : fmt.format(data[offset + i * st[dim]!]!)));
      const perLine = Math.max(1, Math.floor((LINE_WIDTH - ind) / (fmt.width + 2)));
      const lines: string[] = [];
      for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
      return `[${lines.join(`,\n${' '.repeat(ind + 1)}`)}]`;
    }
    const parts = idx.map((i) => (i === null ? '...' : render(offset + i * st[dim]!, dim + 1, ind + 1)));
    return `[${parts.join(`,${'\n'.repeat(rank - 1)}${' '.repeat(ind + 1)}`)}]`;
  };

  if (shape.length === 0) return fmt.format(data[0]!).trim();
  if (size === 0) return '[]';
  return render(0, 0, indent);
}

/**
 * The whole `tensor(...)` string: values, then PyTorch's suffixes (`size=` for empty tensors,
 * a dtype other than float32 / bool, the device where not the CPU, `requires_grad=True`).
 */
export function formatTensor(
  data: Values,
  shape: readonly number[],
  dtype: DType,
  extra: { device?: string; requiresGrad?: boolean; gradFn?: string },
): string {
  const suffix: string[] = [];
  if (shape.reduce((a, b) => a * b, 1) === 0 && shape.length !== 1) suffix.push(`size=(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`);
  if (extra.device !== undefined) suffix.push(`device='${extra.device}'`);
  if (dtype === 'int32' || dtype === 'float64') suffix.push(`dtype=torch.${dtype}`);
  if (extra.gradFn !== undefined) suffix.push(`grad_fn=<${extra.gradFn}>`);
  else if (extra.requiresGrad) suffix.push('requires_grad=True');
  const body = formatValues(data, shape, dtype, 'tensor('.length);
  return `tensor(${[body, ...suffix].join(', ')})`;
}

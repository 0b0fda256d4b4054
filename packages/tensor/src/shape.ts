// Shape arithmetic shared by every op: sizes, strides, NumPy broadcasting and axis
// normalisation, with errors that name the op and the shapes involved.

/** A tensor shape: the size of each dimension, outermost first. */
export type Shape = readonly number[];

/** The number of elements of a shape (1 for `[]`). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides, in elements. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** A shape as text, `[2,3]`, for messages. */
export function fmtShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The broadcast of several shapes (NumPy rules), or an error naming `op`. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (let i = 0; i < rank; i++) {
    for (const s of shapes) {
      const d = s[s.length - rank + i] ?? 1;
      const o = out[i]!;
      if (d === o || d === 1) continue;
      if (o === 1) out[i] = d;
      else {
        throw new Error(
          `${op}: shapes ${shapes.map(fmtShape).join(' and ')} cannot be broadcast ` +
            `(dimension ${i - rank} is ${o} in one and ${d} in another)`,
        );
      }
    }
  }
  return out;
}

/**
 * Strides for reading a tensor of `shape` as if it had the larger `outShape`:
 * broadcast dimensions get stride 0, so one index walk serves every input.
 */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const own = stridesOf(shape);
  const out = new Array<number>(outShape.length).fill(0);
  const off = outShape.length - shape.length;
  for (let i = 0; i < shape.length; i++) {
    out[off + i] = shape[i] === 1 ? 0 : own[i]!;
  }
  return out;
}

/** Resolves a possibly negative axis against `rank`. */
export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= rank) {
    throw new Error(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return a;
}

/** Resolves a list of axes (null/undefined = all), sorted and de-duplicated. */
export function normAxes(op: string, axes: number | readonly number[] | null | undefined, rank: number): number[] {
  if (axes === null || axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = [...new Set(list.map((a) => normAxis(op, a, rank)))];
  if (out.length !== list.length) throw new Error(`${op}: repeated axis in [${list.join(',')}]`);
  return out.sort((x, y) => x - y);
}

export function assertShape(op: string, shape: Shape): void {
  shape.forEach((d, i) => {
    if (!Number.isInteger(d) || d < 0) {
      throw new Error(`${op}: invalid shape ${fmtShape(shape)}: dimensions must be non-negative integers (dimension ${i} is ${d})`);
    }
  });
}

// torch-style indexing along one axis: gatherAlong (torch.gather), scatterAddAlong
// (torch.scatter_add) and indexSelect (torch.index_select, a gatherAlong with the index
// broadcast across the other axes). The two ops are each other's gradient. Indices are
// int32 in [0, size of the axis); others raise (on the GPU, at the next read).

import { fmtShape, normAxis, stridesOf } from '../shape.js';
import { allocArray } from '../dtype.js';
import type { TensorMeta } from '../backend.js';
import { defineOp, runOp, type OpDef } from '../op.js';
import { referenceOnWasm } from '../backends/wasm/reference.js';
import type { AxisAttrs } from '../attrs.js';
import type { Tensor } from '../tensor.js';
import { walk } from '../backends/cpu/indexing.js';
import { gpuGatherAlong, gpuScatterAddAlong } from '../backends/webgpu/gather-along.js';
import { zerosLike } from '../creation.js';
import { expand, pad, reshape } from './layout.js';
import { tidy } from '../memory.js';
import { shapesEqual } from '../shape.js';

function checkIndex(op: string, index: TensorMeta, others: readonly [string, TensorMeta, boolean][], axis: number): void {
  if (index.dtype !== 'int32') throw new Error(`${op}: the index must be int32, got ${index.dtype}`);
  for (const [name, t, alongToo] of others) {
    const ok = t.shape.length === index.shape.length && index.shape.every((d, i) => (i === axis && !alongToo) || d <= t.shape[i]!);
    if (!ok) {
      throw new Error(
        `${op}: index ${fmtShape(index.shape)} must have the rank of ${name} ${fmtShape(t.shape)} and no larger size on any axis${alongToo ? '' : ` but ${axis}`}`,
      );
    }
  }
}

/** Visits every index element: its position, the target offset it names, the source offset. */
function eachIndex(op: string, index: TensorMeta & { data: ArrayLike<number> }, target: readonly number[], source: readonly number[], axis: number,
  visit: (t: number, s: number, e: number) => void): void {
  const ts = stridesOf(target);
  const masked = ts.map((s, i) => (i === axis ? 0 : s));
  const rows = target[axis]!;
  walk(index.shape, [masked, stridesOf(source)], (e, offs) => {
    const r = index.data[e]!;
    if (r < 0 || r >= rows) throw new Error(`${op}: index ${r} at position ${e} is out of range for ${rows} entries along axis ${axis} (valid: 0..${rows - 1})`);
    visit(offs[0]! + r * ts[axis]!, offs[1]!, e);
  });
}

/** The `gatherAlong` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const gatherAlongOp: OpDef<AxisAttrs> = defineOp<AxisAttrs>({
  name: 'gatherAlong',
  infer: ([x, index], { axis }) => {
    checkIndex('gatherAlong', index!, [['input', x!, false]], axis);
    return { shape: index!.shape, dtype: x!.dtype };
  },
  kernels: referenceOnWasm({
    cpu: (_b, [x, index], out, { axis }) => {
      const o = allocArray(out.dtype, out.size);
      eachIndex('gatherAlong', index!, x!.shape, index!.shape, axis, (t, _s, e) => {
        o[e] = x!.data[t]!;
      });
      return o;
    },
    webgpu: gpuGatherAlong,
  }),
  grad: (dy, { inputs: [x, index], attrs: { axis } }) => [tidy(() => scatterAddAlong(zerosLike(x!), axis, index!, dy)), null],
});

/** The `scatterAddAlong` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const scatterAddAlongOp: OpDef<AxisAttrs> = defineOp<AxisAttrs>({
  name: 'scatterAddAlong',
  infer: ([x, index, src], { axis }) => {
    if (src!.dtype !== x!.dtype) throw new Error(`scatterAddAlong: source ${src!.dtype} and input ${x!.dtype} differ in dtype`);
    checkIndex('scatterAddAlong', index!, [['input', x!, false], ['source', src!, true]], axis);
    return { shape: x!.shape, dtype: x!.dtype };
  },
  kernels: referenceOnWasm({
    cpu: (_b, [x, index, src], out, { axis }) => {
      const o = allocArray(out.dtype, out.size);
      o.set(x!.data);
      eachIndex('scatterAddAlong', index!, x!.shape, src!.shape, axis, (t, s) => {
        o[t] += src!.data[s]!;
      });
      return o;
    },
    webgpu: gpuScatterAddAlong,
  }),
  grad: (dy, { inputs: [x, index, src], attrs: { axis } }) => {
    const dsrc = src!.requiresGrad
      ? tidy(() => {
          const g = gatherAlong(dy, axis, index!);
          // Source elements no index points at get no gradient.
          return shapesEqual(g.shape, src!.shape) ? g : pad(g, src!.shape, src!.shape.map(() => 0));
        })
      : null;
    return [x!.requiresGrad ? dy : null, null, dsrc];
  },
});

/**
 * out[i][j][k] = x[i][index[i][j][k]][k] for dim 1 (and likewise for any dim), like
 * `torch.gather(x, dim, index)`: the output has the index's shape.
 *
 * @example
 * gatherAlong(logProbs, 1, unsqueeze(labels, 1)); // each row's entry at its label: [N, 1]
 */
export function gatherAlong(x: Tensor, dim: number, index: Tensor): Tensor {
  return runOp(gatherAlongOp, [x, index], { axis: normAxis('gatherAlong', dim, x.rank) });
}

/**
 * x with src[pos] added at pos with pos[dim] replaced by index[pos], like
 * `torch.scatter_add(x, dim, index, src)`; duplicates add up.
 *
 * @example
 * scatterAddAlong(zeros([3]), 0, tensor([0, 2, 0], { dtype: 'int32' }), tensor([1, 2, 3])); // [4, 0, 2]
 */
export function scatterAddAlong(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  return runOp(scatterAddAlongOp, [x, index, src], { axis: normAxis('scatterAddAlong', dim, x.rank) });
}

/**
 * The entries of `x` along `dim` picked by the 1-D int32 `index`, like `torch.index_select`.
 *
 * @example
 * indexSelect(x, 0, tensor([2, 0], { dtype: 'int32' })); // rows 2 and 0
 */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  const axis = normAxis('indexSelect', dim, x.rank);
  if (index.rank !== 1 || index.dtype !== 'int32') throw new Error(`indexSelect: the index must be 1-D int32, got ${fmtShape(index.shape)} ${index.dtype}`);
  const shape = x.shape.map((d, i) => (i === axis ? index.size : d));
  return tidy(() => gatherAlong(x, axis, expand(reshape(index, x.shape.map((_, i) => (i === axis ? index.size : 1))), shape)));
}

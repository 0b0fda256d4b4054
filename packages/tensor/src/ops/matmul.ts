// Matrix product with PyTorch's semantics (1-D operands, batched, broadcast batch dims),
// built on ONE primitive: batched matmul of [B,M,K] x [B,K,N] where either operand may be
// stored transposed. The transposed variants let the backward pass avoid materialising
// a transpose: dA = dC @ B^T and dB = A^T @ dC are bmm calls with flags flipped.

import { tidy } from '../memory.js';
import { isFloat } from '../dtype.js';
import { broadcastShapes, fmtShape } from '../shape.js';
import { defineOp, runOp } from '../op.js';
import type { BmmAttrs } from '../attrs.js';
import type { Tensor } from '../tensor.js';
import { bmm as cpuBmm } from '../backends/cpu/kernels.js';
import { gpuBmm } from '../backends/webgpu/matmul.js';
import { wasmBmm } from '../backends/wasm/matmul.js';
import { expand, reshape } from './layout.js';

/** The `bmm` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const bmmOp = defineOp<BmmAttrs>({
  name: 'bmm',
  infer: ([a, b], { transA, transB }) => {
    if (a!.shape.length !== 3 || b!.shape.length !== 3) {
      throw new Error(`bmm: expected 3-D operands, got ${fmtShape(a!.shape)} and ${fmtShape(b!.shape)}`);
    }
    if (a!.dtype !== b!.dtype) throw new Error(`bmm: dtype mismatch, ${a!.dtype} and ${b!.dtype}`);
    if (!isFloat(a!.dtype)) throw new Error(`bmm: expected floating-point tensors, got ${a!.dtype}`);
    const [ba, m, ka] = transA ? [a!.shape[0]!, a!.shape[2]!, a!.shape[1]!] : (a!.shape as [number, number, number]);
    const [bb, kb, n] = transB ? [b!.shape[0]!, b!.shape[2]!, b!.shape[1]!] : (b!.shape as [number, number, number]);
    if (ba !== bb) throw new Error(`bmm: batch sizes ${ba} and ${bb} differ`);
    if (ka !== kb) throw new Error(`bmm: inner dimensions ${ka} and ${kb} differ`);
    return { shape: [ba, m, n], dtype: a!.dtype };
  },
  kernels: { cpu: (_b, [a, b], out, { transA, transB }) => cpuBmm(a!, b!, out, transA, transB), webgpu: gpuBmm, wasm: wasmBmm },
  grad: (dC, { inputs: [a, b], attrs: { transA, transB } }) => [
    a!.requiresGrad ? (transA ? bmm(b!, dC, transB, true) : bmm(dC, b!, false, !transB)) : null,
    b!.requiresGrad ? (transB ? bmm(dC, a!, true, transA) : bmm(a!, dC, !transA, false)) : null,
  ],
});

/** Batched matmul of 3-D tensors, op(a) @ op(b), where op transposes the last two axes when flagged. */
export function bmm(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  return runOp(bmmOp, [a, b], { transA, transB });
}

/**
 * Matrix product like `torch.matmul`: 1-D @ 1-D is a dot product, a 1-D operand is treated
 * as a row (left) or column (right) vector and that axis is removed from the result, and
 * leading batch axes broadcast.
 *
 * @example
 * matmul(randn([32, 5]), randn([5, 8]));       // [32, 8]
 * matmul(randn([2, 3, 4]), randn([4, 5]));     // [2, 3, 5]
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  // Composed of reshapes, expands and one bmm: the intermediate handles are freed here.
  return tidy(() => matmulComposed(a, b));
}

function matmulComposed(a: Tensor, b: Tensor): Tensor {
  if (a.rank === 0 || b.rank === 0) {
    throw new Error(`matmul: both operands need at least 1 dimension, got ${fmtShape(a.shape)} @ ${fmtShape(b.shape)}`);
  }
  const a2 = a.rank === 1 ? reshape(a, [1, a.shape[0]!]) : a;
  const b2 = b.rank === 1 ? reshape(b, [b.shape[0]!, 1]) : b;
  const k = a2.shape[a2.rank - 1]!;
  if (b2.shape[b2.rank - 2] !== k) {
    throw new Error(
      `matmul: ${fmtShape(a.shape)} @ ${fmtShape(b.shape)}: inner dimensions ${k} and ${b2.shape[b2.rank - 2]} differ`,
    );
  }
  const m = a2.shape[a2.rank - 2]!;
  const n = b2.shape[b2.rank - 1]!;
  let out: Tensor;
  if (b2.rank === 2) {
    // [..., M, K] @ [K, N]: fold every leading axis into M, no batch copy needed.
    const lead = a2.shape.slice(0, -2);
    const flat = reshape(a2, [1, lead.reduce((x, y) => x * y, 1) * m, k]);
    out = reshape(bmm(flat, reshape(b2, [1, k, n])), [...lead, m, n]);
  } else {
    const batch = broadcastShapes('matmul', a2.shape.slice(0, -2), b2.shape.slice(0, -2));
    const nb = batch.reduce((x, y) => x * y, 1);
    const a3 = reshape(expand(a2, [...batch, m, k]), [nb, m, k]);
    const b3 = reshape(expand(b2, [...batch, k, n]), [nb, k, n]);
    out = reshape(bmm(a3, b3), [...batch, m, n]);
  }
  // Remove the axes that 1-D operands were promoted with.
  if (a.rank === 1 && b.rank === 1) return reshape(out, []);
  if (a.rank === 1) return reshape(out, [...out.shape.slice(0, -2), n]);
  if (b.rank === 1) return reshape(out, out.shape.slice(0, -1));
  return out;
}

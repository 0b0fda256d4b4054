// WGSL backward kernels of softmax and log-softmax along one axis (rows as in softmax.ts),
// given the forward output y and the upstream gradient dy:
//   softmax:     dx = y * (dy - sum(dy * y))
//   logSoftmax:  dx = dy - exp(y) * sum(dy)
// One row reduction and one write per row, instead of the four or five ops composed.

import type { Kernel } from '../../backend.js';
import type { SoftmaxBackwardAttrs } from '../../attrs.js';
import { kernelPreamble, wgslType } from './backend.js';
import { Params } from './params.js';
import { ROW_BASE_WGSL, ROW_ENTRY, ROW_WG, SHORT_ROW, THREAD_ENTRY, THREAD_WG } from './softmax.js';

const term = (log: boolean): string => (log ? 'DY[k]' : 'DY[k] * Y[k]');
const result = (log: boolean): string => (log ? 'DY[k] - exp(Y[k]) * s' : 'Y[k] * (DY[k] - s)');

const HEAD = `
@group(0) @binding(0) var<storage, read> Y: array<f32>;
@group(0) @binding(1) var<storage, read> DY: array<f32>;
@group(0) @binding(2) var<storage, read_write> DX: array<f32>;
${ROW_BASE_WGSL}`;

function threadCode(log: boolean): string {
  return `${kernelPreamble(3)}${HEAD}
${THREAD_ENTRY}
  var s = 0.0;
  for (var i = 0u; i < n; i++) { let k = base + i * inner; s += ${term(log)}; }
  for (var i = 0u; i < n; i++) { let k = base + i * inner; DX[k] = ${result(log)}; }
}`;
}

function rowCode(log: boolean): string {
  return `${kernelPreamble(3)}${HEAD}
${ROW_ENTRY}
  var acc = 0.0;
  for (var i = lid; i < n; i += ${ROW_WG}u) { let k = base + i * inner; acc += ${term(log)}; }
  partial[lid] = acc;
  workgroupBarrier();
  for (var w = ${ROW_WG / 2}u; w > 0u; w = w >> 1u) {
    if (lid < w) { partial[lid] = partial[lid] + partial[lid + w]; }
    workgroupBarrier();
  }
  let s = partial[0];
  for (var i = lid; i < n; i += ${ROW_WG}u) { let k = base + i * inner; DX[k] = ${result(log)}; }
}`;
}

const CODE = { thread: [threadCode(false), threadCode(true)], row: [rowCode(false), rowCode(true)] };

/** dx of softmax (log = false) or logSoftmax (log = true) from inputs [y, dy]. */
export const gpuSoftmaxBackward: Kernel<'webgpu', SoftmaxBackwardAttrs> = (backend, [y, dy], out, { axis, log }) => {
  const dx = backend.output(out);
  if (out.size === 0) return dx;
  wgslType(y!.dtype);
  const n = y!.shape[axis]!;
  let inner = 1;
  for (let d = axis + 1; d < y!.shape.length; d++) inner *= y!.shape[d]!;
  const rows = out.size / n;
  const label = log ? 'logSoftmaxBackward' : 'softmaxBackward';
  const p = new Params(label).u32(rows, n, inner);
  if (n <= SHORT_ROW) backend.run(label, CODE.thread[+log]!, [y!.data, dy!.data, dx], p, Math.ceil(rows / THREAD_WG));
  else backend.run(label, CODE.row[+log]!, [y!.data, dy!.data, dx], p, rows);
  return dx;
};

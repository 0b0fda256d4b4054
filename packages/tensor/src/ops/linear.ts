// linear: y = act(x W^T + b) as ONE op, the fully connected layer with its bias and
// activation fused. Composed, a layer is a matmul, a bias add and an activation forward and
// up to seven kernels backward; fused, the forward is one matmul whose epilogue adds the
// bias and applies the activation as results are stored, and the backward is the
// activation's gradient with the bias gradient (one column kernel) and two matmuls.
// The composition `act(add(matmul(x, transpose(W)), b))` is the reference it is tested against.

import { fmtShape } from '../shape.js';
import { defineOp, runOp } from '../op.js';
import { wasmActivationGrad, wasmActivationGradSum } from '../backends/wasm/elementwise.js';
import type { Tensor } from '../tensor.js';
import { isFloat } from '../dtype.js';
import { activationGradCpu, activationGradSumCpu, linearCpu } from '../backends/cpu/linear.js';
import type { ActivationGradSumAttrs, LinearActivation, LinearAttrs } from '../attrs.js';
import { gpuActivationGrad, gpuActivationGradSum } from '../backends/webgpu/activation-grad.js';
import { FLAT_ALIGN, storageView } from '../fused/flat.js';
import { gpuLinearForward } from '../backends/webgpu/matmul.js';
import { wasmLinear } from '../backends/wasm/matmul.js';
import { bmm } from './matmul.js';
import { reshape, transpose } from './layout.js';
import { isGradEnabled } from '../grad-mode.js';
import { mul, reluBackward, sub } from './elementwise.js';
import { sum } from './reduce.js';

/** The linear gradient from differentiable ops, for a double backward (the fused kernels have no rules). */
function composedLinearGrad(dy: Tensor, x: Tensor, w: Tensor, b: Tensor | undefined, y: Tensor, act: LinearActivation): (Tensor | null)[] {
  const g = act === 'relu' ? reluBackward(y, dy) : act === 'sigmoid' ? mul(dy, mul(y, sub(1, y))) : dy;
  const dx = x.requiresGrad ? bmm(reshape(g, [1, ...g.shape]), reshape(w, [1, ...w.shape])) : null;
  const dw = w.requiresGrad ? bmm(reshape(transpose(g), [1, g.shape[1]!, g.shape[0]!]), reshape(x, [1, ...x.shape])) : null;
  const grads = [dx && reshape(dx, x.shape), dw && reshape(dw, w.shape)];
  return b ? [...grads, b.requiresGrad ? sum(g, 0) : null] : grads;
}

/** dy * act'(.) from the activation's output y (relu: dy where y <= 0 is false, as `reluBackward`; sigmoid: y (1 - y)). No gradient of its own. */
export const activationGradOp = defineOp<LinearAttrs>({
  name: 'activationGrad',
  infer: ([y, dy]) => {
    if (y!.shape.length !== dy!.shape.length || y!.shape.some((d, i) => d !== dy!.shape[i])) {
      throw new Error(`activationGrad: output ${fmtShape(y!.shape)} and gradient ${fmtShape(dy!.shape)} differ`);
    }
    return { shape: y!.shape, dtype: y!.dtype };
  },
  kernels: { cpu: (_b, [y, dy], out, { act }) => activationGradCpu(y!, dy!, out, act), webgpu: gpuActivationGrad, wasm: wasmActivationGrad },
  grad: 'notImplemented',
});

/**
 * activationGrad's result and its sum over rows (the bias gradient) in one flat block:
 * g [N, C] at 0, the sums [C] at `sumAt`. One pass instead of two kernels. With act 'none'
 * (g is dy itself) only the sums are computed: pass sumAt 0. No gradient.
 */
export const activationGradSumOp = defineOp<ActivationGradSumAttrs>({
  name: 'activationGradSum',
  infer: ([y, dy], { sumAt }) => {
    if (y!.shape.length !== 2 || y!.shape.some((d, i) => d !== dy!.shape[i])) {
      throw new Error(`activationGradSum: expected output and gradient of one shape [N, C], got ${fmtShape(y!.shape)} and ${fmtShape(dy!.shape)}`);
    }
    return { shape: [sumAt + y!.shape[1]!], dtype: y!.dtype };
  },
  kernels: { cpu: (_b, [y, dy], out, { act, sumAt }) => activationGradSumCpu(y!, dy!, out, act, sumAt), webgpu: gpuActivationGradSum, wasm: wasmActivationGradSum },
  grad: 'notImplemented',
});

/** The `linear` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const linearOp = defineOp<LinearAttrs>({
  name: 'linear',
  infer: ([x, w, b]) => {
    if (x!.shape.length !== 2 || w!.shape.length !== 2 || x!.shape[1] !== w!.shape[1]) {
      throw new Error(`linear: expected x [N, in] and weight [out, in], got ${fmtShape(x!.shape)} and ${fmtShape(w!.shape)}`);
    }
    if (b && (b.shape.length !== 1 || b.shape[0] !== w!.shape[0])) {
      throw new Error(`linear: bias ${fmtShape(b.shape)} does not match weight ${fmtShape(w!.shape)} (expected [${w!.shape[0]}])`);
    }
    if (!isFloat(x!.dtype) || w!.dtype !== x!.dtype || (b && b.dtype !== x!.dtype)) {
      throw new Error(`linear: expected floating-point tensors of one dtype, got ${[x, w, b].filter(Boolean).map((t) => t!.dtype).join(', ')}`);
    }
    return { shape: [x!.shape[0]!, w!.shape[0]!], dtype: x!.dtype };
  },
  kernels: {
    cpu: (_b, [x, w, b], out, { act }) => linearCpu(x!, w!, b ?? null, out, act),
    webgpu: (backend, [x, w, b], out, { act }) => gpuLinearForward(backend, x!.data, w!.data, out, x!.shape[1]!, { bias: b?.data ?? null, act }),
    wasm: wasmLinear,
  },
  grad: (dy, { inputs: [x, w, b], output, attrs: { act } }) => {
    if (isGradEnabled()) return composedLinearGrad(dy, x!, w!, b, output, act);
    const [n, k] = x!.shape as [number, number];
    const m = w!.shape[0]!;
    let g = dy;
    let db: Tensor | null = null;
    if (b?.requiresGrad) {
      // The activation's gradient and the bias gradient (its column sums) in one pass.
      const sumAt = act === 'none' ? 0 : Math.ceil((n * m) / FLAT_ALIGN) * FLAT_ALIGN;
      const flat = runOp(activationGradSumOp, [output, dy], { act, sumAt });
      if (act !== 'none') g = storageView(flat, 0, [n, m]);
      db = storageView(flat, sumAt, [m]);
      flat.dispose(); // the views keep it
    } else if (act !== 'none') {
      g = runOp(activationGradOp, [output, dy], { act });
    }
    const g3 = reshape(g, [1, n, m]);
    const dx = x!.requiresGrad ? reshape(bmm(g3, reshape(w!, [1, m, k])), [n, k]) : null;
    const dw = w!.requiresGrad ? reshape(bmm(g3, reshape(x!, [1, n, k]), true, false), [m, k]) : null;
    return b ? [dx, dw, db] : [dx, dw];
  },
});

/**
 * The fully connected layer `act(x @ weight^T + bias)`, for x [N, in], weight [out, in]
 * (torch's layout) and bias [out] or null, fused into one kernel forward.
 *
 * @example
 * const h = linear(x, w, b, 'relu'); // relu(x @ w^T + b)
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null, act: LinearActivation = 'none'): Tensor {
  return runOp(linearOp, bias ? [x, weight, bias] : [x, weight], { act });
}

// Fused Adam/AdamW update of a parameter and its two moment buffers, IN PLACE: one kernel
// instead of the ~13 elementwise ops the unfused math takes (nn's `adamUpdate` keeps that
// unfused form as the reference the tests compare against). Not an autograd op: it runs
// outside the graph. In place, like torch.optim: views of the parameter see the new values.
// The kernel is elementwise, so it serves one parameter or, given flat blocks holding all
// of a model's parameters (`FlatBlock`), every parameter at once: the multi-tensor step.

import type { BackendKinds, BackendName, Handle } from '../backend.js';
import type { DType, TypedArray } from '../dtype.js';
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { kernelPreamble, wgslType, memoWgsl } from '../backends/webgpu/backend.js';
import { Params } from '../backends/webgpu/params.js';

/** The hyper-parameters of one fused Adam/AdamW step (`adamStep_`). */
export interface AdamStepHyper {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** AdamW: decay the parameter itself; Adam: add weightDecay * param to the gradient. */
  readonly decoupled: boolean;
  /** The step number, from 1 (for the bias corrections). */
  readonly step: number;
}

/** Scalars derived once on the host, in float64, from the hyper-parameters. */
function scalars(h: AdamStepHyper) {
  return {
    decay: h.decoupled ? 1 - h.lr * h.weightDecay : 1,
    l2: h.decoupled ? 0 : h.weightDecay,
    stepSize: h.lr / (1 - Math.pow(h.beta1, h.step)),
    sqrtBc2: Math.sqrt(1 - Math.pow(h.beta2, h.step)),
  };
}

/** Reads g, updates p, m and v in place. */
type AdamKernel<B extends BackendName> = (
  backend: BackendKinds[B]['backend'],
  p: Handle<B>,
  g: Handle<B>,
  m: Handle<B>,
  v: Handle<B>,
  size: number,
  dtype: Tensor['dtype'],
  h: AdamStepHyper,
) => void;

const WG = 256;

const ADAM_WGSL = memoWgsl((t: string) => `${kernelPreamble(4)}
@group(0) @binding(0) var<storage, read_write> P: array<${t}>;
@group(0) @binding(1) var<storage, read> G: array<${t}>;
@group(0) @binding(2) var<storage, read_write> M: array<${t}>;
@group(0) @binding(3) var<storage, read_write> V: array<${t}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup_id(wid, nwg) * ${WG}u + lid;
  if (i >= pu(0u)) { return; }
  let beta1 = pf(1u); let beta2 = pf(2u); let eps = pf(3u);
  let decay = pf(4u); let l2 = pf(5u); let step_size = pf(6u); let sqrt_bc2 = pf(7u);
  let p0 = P[i];
  let g = G[i] + l2 * p0;
  let m = beta1 * M[i] + (1.0 - beta1) * g;
  let v = beta2 * V[i] + (1.0 - beta2) * g * g;
  M[i] = m;
  V[i] = v;
  P[i] = p0 * decay - step_size * m / (sqrt(v) / sqrt_bc2 + eps);
}`);

/** One kernel per backend; the mapped type makes a missing one a compile error, as for ops. */
const KERNELS: { readonly [B in BackendName]: AdamKernel<B> } = {
  cpu: adamCpu,
  webgpu: (backend, p, g, m, v, size, dtype, h) => {
    if (size === 0) return;
    const s = scalars(h);
    const params = new Params('adamStep').u32(size).f32(h.beta1, h.beta2, h.eps, s.decay, s.l2, s.stepSize, s.sqrtBc2);
    backend.run('adamStep', ADAM_WGSL(wgslType(dtype)), [p, g, m, v], params, Math.ceil(size / WG), [0, 2, 3]);
  },
  // float32: SIMD in place (packages/tensor/wasm/adam.ts), the WGSL kernel's float32 arithmetic.
  wasm: (backend, p, g, m, v, size, dtype, h) => {
    if (dtype !== 'float32') {
      adamCpu(null, ...([p, g, m, v].map((t) => backend.typed(t, dtype)) as [TypedArray, TypedArray, TypedArray, TypedArray]), size, dtype, h);
      return;
    }
    const s = scalars(h);
    backend.parallel('adamStep', [p.ptr, g.ptr, m.ptr, v.ptr, h.beta1, h.beta2, h.eps, s.decay, s.l2, s.stepSize, s.sqrtBc2, 0, 0], 11, size, backend.minChunk(16));
  },
};

/** The update as a plain loop (float64 arithmetic, stored in the arrays' dtype). */
function adamCpu(_b: unknown, P: TypedArray, G: TypedArray, M: TypedArray, V: TypedArray, size: number, _dtype: DType, h: AdamStepHyper): void {
  const { decay, l2, stepSize, sqrtBc2 } = scalars(h);
  for (let i = 0; i < size; i++) {
    const p0 = P[i]!;
    const gi = G[i]! + l2 * p0;
    const mi = h.beta1 * M[i]! + (1 - h.beta1) * gi;
    const vi = h.beta2 * V[i]! + (1 - h.beta2) * gi * gi;
    M[i] = mi;
    V[i] = vi;
    P[i] = p0 * decay - (stepSize * mi) / (Math.sqrt(vi) / sqrtBc2 + h.eps);
  }
}

/**
 * Updates `param`, `m` (exp_avg) and `v` (exp_avg_sq) in place with one Adam/AdamW step
 * from `grad`, with torch 1.13's arithmetic. All four must share size, dtype and backend.
 * Pass flat blocks (`FlatBlock.flat`) to update many parameters with one kernel.
 *
 * @example
 * adamStep_(w, w.grad!, m, v, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, step: 1 });
 */
export function adamStep_(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, h: AdamStepHyper): void {
  for (const [name, t] of [['grad', grad], ['exp_avg', m], ['exp_avg_sq', v]] as const) {
    if (t.size !== param.size || t.dtype !== param.dtype || t.backendName !== param.backendName) {
      throw new Error(
        `adamStep: ${name} ${fmtShape(t.shape)} ${t.dtype} on ${t.backendName} does not match the parameter ` +
          `${fmtShape(param.shape)} ${param.dtype} on ${param.backendName}`,
      );
    }
  }
  const roots = new Set([param, m, v].map((t) => t.storage.root));
  if (roots.size !== 3) throw new Error('adamStep: the parameter and its two moment buffers must not share storage');
  const b = param.backend;
  const kernel = KERNELS[b.name] as AdamKernel<BackendName>;
  kernel(b as never, param.storage.handle as never, grad.storage.handle as never, m.storage.handle as never, v.storage.handle as never, param.size, param.dtype, h);
  for (const t of [param, m, v]) t.storage.bumpVersion();
}

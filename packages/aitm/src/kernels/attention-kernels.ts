// AITM's attention layer with its softmax core fused. For each sample, with x0 = own and
// x1 = info ([d]), bias-free projections q_i = Wq x_i, k_i = Wk x_i, v_i = Wv x_i, scores
// s_i = q_i.k_i / sqrt(d), a = softmax(s_0, s_1) and output a_0 v_0 + a_1 v_1.
//
// The projections are one matmul: X = [own; info] ([2B, d]) times [Wq; Wk; Wv]^T gives
// QKV [2B, 3d] (rows 0..B-1 for own, B..2B-1 for info), through the fused linear op, whose
// backward is two matmuls. Everything after the projections is one kernel each way (the
// "core"), one thread per sample:
//   forward:  out_b = a_0 v_0 + a_1 v_1
//   backward: dv_i = a_i g,  da_i = g.v_i,  ds_i = a_i (da_i - a_0 da_0 - a_1 da_1),
//             dq_i = ds_i k_i / sqrt(d),  dk_i = ds_i q_i / sqrt(d)
// The concatenations of the inputs and weights are one copy kernel each; their gradients
// are zero-copy views. Composed, the layer takes about 40 kernels per step; this way 8.
// (A single kernel doing the projections per sample too was measured 4x slower on llvmpipe:
// the matmul kernels are what make the d x d products fast.)
// The composed layer (`AttentionLayer.attendComposed`) is the reference. On wasm the core is
// SIMD from the aitm kernel library (wasm/attention.ts), threads taking ranges of samples.

import { allocArray, concat, defineOp, fmtShape, kernelPreamble, memoWgsl, linear, Params, runOp, wgslType, type Kernel, type KernelTable, type Tensor, type TypedArray } from '@aitm/tensor';
import { aitmWasm } from './wasm-library.js';

const WG = 64;

type Mode = 'output' | 'weights';

/** a_0, a_1 of sample b from QKV rows b (own) and B + b (info). */
function softmaxOf(Q: TypedArray, b: number, batch: number, d: number): [number, number] {
  const score = (row: number) => {
    let s = 0;
    for (let c = 0; c < d; c++) s += Q[row * 3 * d + c]! * Q[row * 3 * d + d + c]!;
    return s / Math.sqrt(d);
  };
  const [s0, s1] = [score(b), score(batch + b)];
  const m = Math.max(s0, s1);
  const [e0, e1] = [Math.exp(s0 - m), Math.exp(s1 - m)];
  return [e0 / (e0 + e1), e1 / (e0 + e1)];
}

function forwardCpu(Q: TypedArray, batch: number, d: number, dtype: Tensor['dtype'], mode: Mode): TypedArray {
  const o = allocArray(dtype, mode === 'weights' ? 2 * batch : batch * d);
  for (let b = 0; b < batch; b++) {
    const [a0, a1] = softmaxOf(Q, b, batch, d);
    if (mode === 'weights') {
      o[2 * b] = a0;
      o[2 * b + 1] = a1;
      continue;
    }
    for (let c = 0; c < d; c++) o[b * d + c] = a0 * Q[b * 3 * d + 2 * d + c]! + a1 * Q[(batch + b) * 3 * d + 2 * d + c]!;
  }
  return o;
}

function backwardCpu(Q: TypedArray, G: TypedArray, batch: number, d: number, dtype: Tensor['dtype']): TypedArray {
  const r = allocArray(dtype, 2 * batch * 3 * d);
  const scale = 1 / Math.sqrt(d);
  for (let b = 0; b < batch; b++) {
    const a = softmaxOf(Q, b, batch, d);
    const rows = [b, batch + b];
    const da = rows.map((row) => {
      let s = 0;
      for (let c = 0; c < d; c++) s += G[b * d + c]! * Q[row * 3 * d + 2 * d + c]!;
      return s;
    });
    const mix = a[0] * da[0]! + a[1] * da[1]!;
    rows.forEach((row, i) => {
      const ds = a[i]! * (da[i]! - mix) * scale;
      for (let c = 0; c < d; c++) {
        const base = row * 3 * d;
        r[base + c] = ds * Q[base + d + c]!; // dq = ds k
        r[base + d + c] = ds * Q[base + c]!; // dk = ds q
        r[base + 2 * d + c] = a[i]! * G[b * d + c]!; // dv = a g
      }
    });
  }
  return r;
}

// On wasm: the SIMD kernels of the aitm kernel library (packages/aitm/wasm/attention.ts),
// split among the threads by samples.

const forwardWasm = (mode: Mode): Kernel<'wasm', null> => (backend, [q], out) => {
  const [batch, d] = dims(q!.shape);
  const o = backend.alloc(out.size, out.dtype);
  backend.parallelIn(aitmWasm, 'attentionRows', [q!.data.ptr, o.ptr, batch, d, mode === 'weights' ? 1 : 0, 0, 0], 5, batch, backend.minChunk(6 * d));
  return o;
};

const backwardWasm: Kernel<'wasm', null> = (backend, [q, g], out) => {
  const [batch, d] = dims(q!.shape);
  const o = backend.alloc(out.size, out.dtype);
  backend.parallelIn(aitmWasm, 'attentionGradRows', [q!.data.ptr, g!.data.ptr, o.ptr, batch, d, 0, 0], 5, batch, backend.minChunk(16 * d));
  return o;
};

/** WGSL: a0, a1 of sample b (rows b and B + b of QKV). */
const SOFTMAX_WGSL = /* wgsl */ `
fn row_dot(r0: u32, r1: u32, d: u32) -> f32 {
  var s = 0.0;
  for (var c = 0u; c < d; c++) { s += QKV[r0 + c] * QKV[r1 + c]; }
  return s;
}
fn weights_of(b: u32, batch: u32, d: u32) -> vec2<f32> {
  let own = b * 3u * d;
  let info = (batch + b) * 3u * d;
  let s0 = row_dot(own, own + d, d) * pf(2u);
  let s1 = row_dot(info, info + d, d) * pf(2u);
  let m = max(s0, s1);
  let e0 = exp(s0 - m);
  let e1 = exp(s1 - m);
  return vec2<f32>(e0, e1) / (e0 + e1);
}`;

const HEAD = (t: string, n: number) => `${kernelPreamble(n)}
@group(0) @binding(0) var<storage, read> QKV: array<${t}>;
${SOFTMAX_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let b = linear_workgroup_id(wid, nwg) * ${WG}u + lid;
  let batch = pu(0u);
  let d = pu(1u);
  if (b >= batch) { return; }
  let a = weights_of(b, batch, d);`;

const FORWARD_WGSL = memoWgsl((t: string, mode: Mode) => `@group(0) @binding(1) var<storage, read_write> OUT: array<${t}>;
${HEAD(t, 2)}
  ${
    mode === 'weights'
      ? 'OUT[2u * b] = a.x;\n  OUT[2u * b + 1u] = a.y;'
      : `let v0 = b * 3u * d + 2u * d;
  let v1 = (batch + b) * 3u * d + 2u * d;
  for (var c = 0u; c < d; c++) { OUT[b * d + c] = a.x * QKV[v0 + c] + a.y * QKV[v1 + c]; }`
  }
}`);

const BACKWARD_WGSL = memoWgsl((t: string) => `@group(0) @binding(1) var<storage, read> G: array<${t}>;
@group(0) @binding(2) var<storage, read_write> R: array<${t}>;
${HEAD(t, 3)}
  let r0 = b * 3u * d;
  let r1 = (batch + b) * 3u * d;
  var da0 = 0.0;
  var da1 = 0.0;
  for (var c = 0u; c < d; c++) {
    let g = G[b * d + c];
    da0 += g * QKV[r0 + 2u * d + c];
    da1 += g * QKV[r1 + 2u * d + c];
  }
  let mix = a.x * da0 + a.y * da1;
  let ds0 = a.x * (da0 - mix) * pf(2u);
  let ds1 = a.y * (da1 - mix) * pf(2u);
  for (var c = 0u; c < d; c++) {
    let g = G[b * d + c];
    R[r0 + c] = ds0 * QKV[r0 + d + c];
    R[r0 + d + c] = ds0 * QKV[r0 + c];
    R[r0 + 2u * d + c] = a.x * g;
    R[r1 + c] = ds1 * QKV[r1 + d + c];
    R[r1 + d + c] = ds1 * QKV[r1 + c];
    R[r1 + 2u * d + c] = a.y * g;
  }
}`);

/** Batch and dim from a QKV of [2B, 3d]. */
function dims(shape: readonly number[]): [number, number] {
  return [shape[0]! / 2, shape[1]! / 3];
}

function checkQkv(op: string, shape: readonly number[], dtype: Tensor['dtype']): [number, number] {
  if (shape.length !== 2 || shape[0]! % 2 !== 0 || shape[1]! % 3 !== 0 || dtype === 'int32') {
    throw new Error(`${op}: expected floating-point projections [2B, 3 * dim] (own rows, then info rows), got ${fmtShape(shape)} ${dtype}`);
  }
  return dims(shape);
}

const forwardKernels = (mode: Mode): KernelTable<null> => ({
  cpu: (_b, [q], out) => {
    const [batch, d] = dims(q!.shape);
    return forwardCpu(q!.data, batch, d, out.dtype, mode);
  },
  webgpu: (backend, [q], out) => {
    const buf = backend.output(out);
    const [batch, d] = dims(q!.shape);
    if (batch === 0) return buf;
    const label = mode === 'output' ? 'aitmAttention' : 'aitmAttentionWeights';
    const params = new Params(label).u32(batch, d).f32(1 / Math.sqrt(d));
    backend.run(label, FORWARD_WGSL(wgslType(out.dtype), mode), [q!.data, buf], params, Math.ceil(batch / WG));
    return buf;
  },
  wasm: forwardWasm(mode),
});

/** dQKV [2B, 3d] given (QKV, dOut); no gradient of its own. */
export const attentionCoreGradOp = defineOp<null>({
  name: 'aitmAttentionGrad',
  infer: ([q, g]) => {
    const [batch, d] = checkQkv('aitmAttentionGrad', q!.shape, q!.dtype);
    if (g!.shape.length !== 2 || g!.shape[0] !== batch || g!.shape[1] !== d) {
      throw new Error(`aitmAttentionGrad: gradient ${fmtShape(g!.shape)} does not match [${batch}, ${d}]`);
    }
    return { shape: q!.shape, dtype: q!.dtype };
  },
  kernels: {
    cpu: (_b, [q, g], out) => {
      const [batch, d] = dims(q!.shape);
      return backwardCpu(q!.data, g!.data, batch, d, out.dtype);
    },
    webgpu: (backend, [q, g], out) => {
      const buf = backend.output(out);
      const [batch, d] = dims(q!.shape);
      if (batch === 0) return buf;
      const params = new Params('aitmAttentionGrad').u32(batch, d).f32(1 / Math.sqrt(d));
      backend.run('aitmAttentionGrad', BACKWARD_WGSL(wgslType(out.dtype)), [q!.data, g!.data, buf], params, Math.ceil(batch / WG));
      return buf;
    },
    wasm: backwardWasm,
  },
  grad: 'notImplemented',
});

/** [B, 2] softmax weights on [own, info] from QKV; no gradient (for reports and plots). */
export const attentionWeightsOp = defineOp<null>({
  name: 'aitmAttentionWeights',
  infer: ([q]) => ({ shape: [checkQkv('aitmAttentionWeights', q!.shape, q!.dtype)[0], 2], dtype: q!.dtype }),
  kernels: forwardKernels('weights'),
  grad: 'notImplemented',
});

/** The attention core: [B, d] output from the projections QKV [2B, 3d]. */
export const attentionCoreOp = defineOp<null>({
  name: 'aitmAttention',
  infer: ([q]) => ({ shape: checkQkv('aitmAttention', q!.shape, q!.dtype), dtype: q!.dtype }),
  kernels: forwardKernels('output'),
  grad: (dy, { inputs: [q] }) => [runOp(attentionCoreGradOp, [q!, dy], null)],
});

/** QKV [2B, 3d] of own and info ([B, d] each) with bias-free projections wq, wk, wv ([d, d]). */
export function attentionProjections(own: Tensor, info: Tensor, wq: Tensor, wk: Tensor, wv: Tensor): Tensor {
  if (own.rank !== 2 || info.rank !== 2 || own.shape[0] !== info.shape[0] || own.shape[1] !== info.shape[1]) {
    throw new Error(`AITM attention: own ${fmtShape(own.shape)} and info ${fmtShape(info.shape)} must both be [B, dim]`);
  }
  return linear(concat([own, info], 0), concat([wq, wk, wv], 0));
}

/** The [B, 2] softmax weights on [own, info] from projections QKV (no gradient). */
export function attentionWeightsOf(qkv: Tensor): Tensor {
  return runOp(attentionWeightsOp, [qkv], null);
}

/** The [B, dim] output from projections QKV. */
export function attentionCore(qkv: Tensor): Tensor {
  return runOp(attentionCoreOp, [qkv], null);
}

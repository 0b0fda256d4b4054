// AITM's attention layer as fused ops. For each sample, with x0 = own and x1 = info ([d]),
// bias-free projections q_i = Wq x_i, k_i = Wk x_i, v_i = Wv x_i, scores s_i = q_i.k_i / sqrt(d),
// a = softmax(s_0, s_1) and output a_0 v_0 + a_1 v_1. Composed, that is a stack, three
// matmuls and seven small ops forward and about twenty backward; fused it is one kernel
// forward and two backward (one per-sample kernel, then one matmul for the three weight
// gradients). The composed layer (`AttentionLayer.attendComposed`) is the reference.
//
// Backward, per sample, given g = dL/d(output):
//   dv_i = a_i g,  da_i = g.v_i,  ds_i = a_i (da_i - a_0 da_0 - a_1 da_1)
//   dq_i = ds_i k_i / sqrt(d),  dk_i = ds_i q_i / sqrt(d)
//   dx_i = Wq^T dq_i + Wk^T dk_i + Wv^T dv_i
//   [dWq; dWk; dWv] = sum over samples and i of [dq_i; dk_i; dv_i] x_i^T   (one [3d, 2B] x [2B, d] matmul)
//
// GPU layout: one 64-thread workgroup per sample; threads split the d output features and
// meet in workgroup memory for the two scores and the softmax. Feature dims above
// MAX_FUSED_DIM do not fit that memory; AttentionLayer composes ops for them instead.

import {
  allocArray,
  bmm,
  defineOp,
  FLAT_ALIGN,
  fmtShape,
  kernelPreamble,
  Params,
  runOp,
  storageView,
  wgslType,
  type KernelTable,
  type Tensor,
  type TensorMeta,
  type TypedArray,
} from '@aitm/tensor';

/** Largest feature dim the fused kernels take (workgroup memory holds 6 vectors of it). */
export const MAX_FUSED_DIM = 256;
const WG = 64;

type Mode = 'output' | 'weights';

// ---------- CPU (float64 capable) ----------

/** Per-sample forward quantities, as the GPU kernels compute them. */
function sampleForward(X0: TypedArray, X1: TypedArray, W: readonly TypedArray[], b: number, d: number) {
  const x = [X0.subarray(b * d, (b + 1) * d), X1.subarray(b * d, (b + 1) * d)];
  const proj = x.map((xi) =>
    W.map((w) => {
      const out = new Float64Array(d);
      for (let o = 0; o < d; o++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += w[o * d + j]! * xi[j]!;
        out[o] = s;
      }
      return out;
    }),
  ); // proj[i] = [q_i, k_i, v_i]
  const scale = 1 / Math.sqrt(d);
  const s = proj.map(([q, k]) => q!.reduce((acc, qo, o) => acc + qo * k![o]!, 0) * scale);
  const m = Math.max(s[0]!, s[1]!);
  const e = s.map((si) => Math.exp(si - m));
  const a = e.map((ei) => ei / (e[0]! + e[1]!));
  return { x, proj, a, scale };
}

function forwardCpu(inputs: readonly TypedArray[], shape: readonly number[], out: TensorMeta, mode: Mode): TypedArray {
  const [own, info, wq, wk, wv] = inputs as [TypedArray, TypedArray, TypedArray, TypedArray, TypedArray];
  const [batch, d] = shape as [number, number];
  const o = allocArray(out.dtype, out.size);
  for (let b = 0; b < batch; b++) {
    const { proj, a } = sampleForward(own, info, [wq, wk, wv], b, d);
    if (mode === 'weights') {
      o[2 * b] = a[0]!;
      o[2 * b + 1] = a[1]!;
    } else {
      for (let c = 0; c < d; c++) o[b * d + c] = a[0]! * proj[0]![2]![c]! + a[1]! * proj[1]![2]![c]!;
    }
  }
  return o;
}

/** Where each part of the backward kernel's flat output starts (aligned, so parts bind directly). */
export function gradLayout(batch: number, d: number) {
  const align = (n: number) => Math.ceil(n / FLAT_ALIGN) * FLAT_ALIGN;
  const info = align(batch * d);
  const qkv = info + align(batch * d);
  const x = qkv + align(batch * 6 * d);
  return { own: 0, info, qkv, x, total: x + align(batch * 2 * d) };
}

function backwardCpu(inputs: readonly TypedArray[], shape: readonly number[], out: TensorMeta): TypedArray {
  const [own, info, wq, wk, wv, dOut] = inputs as [TypedArray, TypedArray, TypedArray, TypedArray, TypedArray, TypedArray];
  const [batch, d] = shape as [number, number];
  const L = gradLayout(batch, d);
  const r = allocArray(out.dtype, out.size);
  const W = [wq, wk, wv];
  for (let b = 0; b < batch; b++) {
    const { x, proj, a, scale } = sampleForward(own, info, W, b, d);
    const g = dOut.subarray(b * d, (b + 1) * d);
    const da = proj.map(([, , v]) => v!.reduce((acc, vo, o) => acc + vo * g[o]!, 0));
    const mix = a[0]! * da[0]! + a[1]! * da[1]!;
    for (let i = 0; i < 2; i++) {
      const ds = a[i]! * (da[i]! - mix);
      const [q, k] = proj[i]!;
      const grads = [new Float64Array(d), new Float64Array(d), new Float64Array(d)]; // dq, dk, dv
      for (let o = 0; o < d; o++) {
        grads[0]![o] = ds * k![o]! * scale;
        grads[1]![o] = ds * q![o]! * scale;
        grads[2]![o] = a[i]! * g[o]!;
      }
      const rowQkv = L.qkv + (b * 2 + i) * 3 * d;
      grads.forEach((gr, p) => r.set(gr, rowQkv + p * d));
      const dxBase = (i === 0 ? L.own : L.info) + b * d;
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let p = 0; p < 3; p++) for (let o = 0; o < d; o++) s += W[p]![o * d + j]! * grads[p]![o]!;
        r[dxBase + j] = s;
        r[L.x + (b * 2 + i) * d + j] = x[i]![j]!;
      }
    }
  }
  return r;
}

// ---------- WebGPU ----------

const PROJECT = /* wgsl */ `
  // Thread lid owns features o = lid, lid + ${WG}, ...: their q, k, v for both positions.
  var s0 = 0.0; var s1 = 0.0;
  for (var o = lid; o < d; o += ${WG}u) {
    var q0 = 0.0; var k0 = 0.0; var v0 = 0.0; var q1 = 0.0; var k1 = 0.0; var v1 = 0.0;
    for (var j = 0u; j < d; j++) {
      let x0 = OWN[b * d + j]; let x1 = INFO[b * d + j];
      let wq = WQ[o * d + j]; let wk = WK[o * d + j]; let wv = WV[o * d + j];
      q0 += wq * x0; k0 += wk * x0; v0 += wv * x0;
      q1 += wq * x1; k1 += wk * x1; v1 += wv * x1;
    }
    s0 += q0 * k0; s1 += q1 * k1;
    sh[o] = q0; sh[d + o] = k0; sh[2u * d + o] = v0;
    sh[3u * d + o] = q1; sh[4u * d + o] = k1; sh[5u * d + o] = v1;
  }`;

/** Sums red[k * WG + lid] over lid for k < parts, leaving the sums in red[k * WG]. */
const REDUCE = (parts: number) => /* wgsl */ `
  workgroupBarrier();
  for (var st = ${WG / 2}u; st > 0u; st >>= 1u) {
    if (lid < st) { for (var k = 0u; k < ${parts}u; k++) { red[k * ${WG}u + lid] += red[k * ${WG}u + lid + st]; } }
    workgroupBarrier();
  }`;

const SOFTMAX = /* wgsl */ `
  let sc0 = red[0] * scale; let sc1 = red[${WG}] * scale;
  let m = max(sc0, sc1);
  let e0 = exp(sc0 - m); let e1 = exp(sc1 - m);
  let a0 = e0 / (e0 + e1); let a1 = e1 / (e0 + e1);`;

const HEADER = (t: string, nBuf: number) => `${kernelPreamble(nBuf)}
@group(0) @binding(0) var<storage, read> OWN: array<${t}>;
@group(0) @binding(1) var<storage, read> INFO: array<${t}>;
@group(0) @binding(2) var<storage, read> WQ: array<${t}>;
@group(0) @binding(3) var<storage, read> WK: array<${t}>;
@group(0) @binding(4) var<storage, read> WV: array<${t}>;
var<workgroup> sh: array<f32, ${6 * MAX_FUSED_DIM}>;`;

const FORWARD_WGSL = (t: string, mode: Mode) => `${HEADER(t, 6)}
@group(0) @binding(5) var<storage, read_write> OUT: array<${t}>;
var<workgroup> red: array<f32, ${2 * WG}>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let b = linear_workgroup_id(wid, nwg);
  if (b >= pu(0u)) { return; }
  let d = pu(1u);
  let scale = pf(2u);
  ${PROJECT}
  red[lid] = s0; red[${WG}u + lid] = s1;
  ${REDUCE(2)}
  ${SOFTMAX}
  ${
    mode === 'weights'
      ? 'if (lid == 0u) { OUT[2u * b] = a0; OUT[2u * b + 1u] = a1; }'
      : `for (var o = lid; o < d; o += ${WG}u) { OUT[b * d + o] = a0 * sh[2u * d + o] + a1 * sh[5u * d + o]; }`
  }
}`;

// Params: batch, d, scale, then where dInfo, dQKV and X start in the flat result.
const BACKWARD_WGSL = (t: string) => `${HEADER(t, 7)}
@group(0) @binding(5) var<storage, read> DOUT: array<${t}>;
@group(0) @binding(6) var<storage, read_write> R: array<${t}>;
var<workgroup> red: array<f32, ${4 * WG}>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let b = linear_workgroup_id(wid, nwg);
  if (b >= pu(0u)) { return; }
  let d = pu(1u);
  let scale = pf(2u);
  ${PROJECT}
  var da0 = 0.0; var da1 = 0.0;
  for (var o = lid; o < d; o += ${WG}u) {
    let g = DOUT[b * d + o];
    da0 += g * sh[2u * d + o]; da1 += g * sh[5u * d + o];
  }
  red[lid] = s0; red[${WG}u + lid] = s1; red[${2 * WG}u + lid] = da0; red[${3 * WG}u + lid] = da1;
  ${REDUCE(4)}
  ${SOFTMAX}
  let mix = a0 * red[${2 * WG}] + a1 * red[${3 * WG}];
  let ds0 = a0 * (red[${2 * WG}] - mix) * scale;
  let ds1 = a1 * (red[${3 * WG}] - mix) * scale;
  // Each thread turns its own features' q, k, v into dq, dk, dv (same slots: no race).
  let base0 = pu(4u) + b * 6u * d;
  for (var o = lid; o < d; o += ${WG}u) {
    let g = DOUT[b * d + o];
    let q0 = sh[o]; let k0 = sh[d + o]; let q1 = sh[3u * d + o]; let k1 = sh[4u * d + o];
    sh[o] = ds0 * k0; sh[d + o] = ds0 * q0; sh[2u * d + o] = a0 * g;
    sh[3u * d + o] = ds1 * k1; sh[4u * d + o] = ds1 * q1; sh[5u * d + o] = a1 * g;
    for (var p = 0u; p < 6u; p++) { R[base0 + p * d + o] = sh[p * d + o]; }
  }
  workgroupBarrier();
  for (var j = lid; j < d; j += ${WG}u) {
    var dx0 = 0.0; var dx1 = 0.0;
    for (var o = 0u; o < d; o++) {
      let wq = WQ[o * d + j]; let wk = WK[o * d + j]; let wv = WV[o * d + j];
      dx0 += wq * sh[o] + wk * sh[d + o] + wv * sh[2u * d + o];
      dx1 += wq * sh[3u * d + o] + wk * sh[4u * d + o] + wv * sh[5u * d + o];
    }
    R[b * d + j] = dx0;
    R[pu(3u) + b * d + j] = dx1;
    R[pu(5u) + b * 2u * d + j] = OWN[b * d + j];
    R[pu(5u) + (b * 2u + 1u) * d + j] = INFO[b * d + j];
  }
}`;

// ---------- ops ----------

function check(op: string, inputs: readonly TensorMeta[]): [number, number] {
  const [own, info, ...rest] = inputs;
  const ws = rest.slice(0, 3);
  const d = own!.shape[1];
  if (own!.shape.length !== 2 || d === undefined || info!.shape.length !== 2 || info!.shape[0] !== own!.shape[0] || info!.shape[1] !== d) {
    throw new Error(`${op}: own ${fmtShape(own!.shape)} and info ${fmtShape(info!.shape)} must both be [B, dim]`);
  }
  if (d > MAX_FUSED_DIM) throw new Error(`${op}: dim ${d} exceeds the fused kernels' ${MAX_FUSED_DIM}; compose the ops instead`);
  for (const w of ws) {
    if (w.shape.length !== 2 || w.shape[0] !== d || w.shape[1] !== d) throw new Error(`${op}: projection weights must be [${d}, ${d}], got ${fmtShape(w.shape)}`);
  }
  if (inputs.some((t) => t.dtype !== own!.dtype) || own!.dtype === 'int32') throw new Error(`${op}: all inputs must share one floating-point dtype`);
  return [own!.shape[0]!, d];
}

const forwardKernels = (mode: Mode): KernelTable<null> => ({
  cpu: (_b, inputs, out) => forwardCpu(inputs.map((i) => i.data), inputs[0]!.shape, out, mode),
  webgpu: (backend, inputs, out) => {
    const buf = backend.output(out);
    const [batch, d] = inputs[0]!.shape as [number, number];
    if (out.size === 0) return buf;
    const params = new Params(mode === 'output' ? 'aitmAttention' : 'aitmAttentionWeights').u32(batch, d).f32(1 / Math.sqrt(d));
    backend.run(mode === 'output' ? 'aitmAttention' : 'aitmAttentionWeights', FORWARD_WGSL(wgslType(out.dtype), mode), [...inputs.map((i) => i.data), buf], params, batch);
    return buf;
  },
});

/** The flat result of the backward kernel: dOwn, dInfo, dQKV and the stacked inputs (see gradLayout). */
export const attentionGradOp = defineOp<null>({
  name: 'aitmAttentionGrad',
  infer: (inputs) => {
    const [batch, d] = check('aitmAttentionGrad', inputs.slice(0, 5));
    return { shape: [gradLayout(batch, d).total], dtype: inputs[0]!.dtype };
  },
  kernels: {
    cpu: (_b, inputs, out) => backwardCpu(inputs.map((i) => i.data), inputs[0]!.shape, out),
    webgpu: (backend, inputs, out) => {
      const buf = backend.output(out);
      const [batch, d] = inputs[0]!.shape as [number, number];
      if (batch === 0 || d === 0) return buf;
      const L = gradLayout(batch, d);
      const params = new Params('aitmAttentionGrad').u32(batch, d).f32(1 / Math.sqrt(d)).u32(L.info, L.qkv, L.x);
      backend.run('aitmAttentionGrad', BACKWARD_WGSL(wgslType(out.dtype)), [...inputs.map((i) => i.data), buf], params, batch);
      return buf;
    },
  },
  grad: 'none',
});

/** [B, 2] attention weights on [own, info]; no gradient (for reports and plots). */
export const attentionWeightsOp = defineOp<null>({
  name: 'aitmAttentionWeights',
  infer: (inputs) => ({ shape: [check('aitmAttentionWeights', inputs)[0], 2], dtype: inputs[0]!.dtype }),
  kernels: forwardKernels('weights'),
  grad: 'none',
});

export const attentionOp = defineOp<null>({
  name: 'aitmAttention',
  infer: (inputs) => ({ shape: check('aitmAttention', inputs), dtype: inputs[0]!.dtype }),
  kernels: forwardKernels('output'),
  grad: (dy, { inputs }) => {
    const [own, info, ...ws] = inputs as [Tensor, Tensor, Tensor, Tensor, Tensor];
    const [batch, d] = own.shape as [number, number];
    const L = gradLayout(batch, d);
    const flat = runOp(attentionGradOp, [...inputs, dy], null);
    const grads: (Tensor | null)[] = [
      own.requiresGrad ? storageView(flat, L.own, [batch, d]) : null,
      info.requiresGrad ? storageView(flat, L.info, [batch, d]) : null,
    ];
    if (ws.some((w) => w.requiresGrad)) {
      const dqkv = storageView(flat, L.qkv, [1, 2 * batch, 3 * d]);
      const x = storageView(flat, L.x, [1, 2 * batch, d]);
      const dw = bmm(dqkv, x, true, false); // [1, 3d, d]: dWq, dWk, dWv stacked
      ws.forEach((w, p) => grads.push(w.requiresGrad ? storageView(dw, p * d * d, [d, d]) : null));
      [dqkv, x, dw].forEach((t) => t.dispose()); // views of them keep the memory
    } else {
      grads.push(null, null, null);
    }
    flat.dispose();
    return grads;
  },
});

/**
 * AITM attention of `own` and `info` ([B, dim] each) with bias-free projection weights
 * wq, wk, wv ([dim, dim], torch Linear layout): the [B, dim] output. One kernel.
 *
 * @example
 * const out = fusedAttention(own, info, layer.qLayer.weight, layer.kLayer.weight, layer.vLayer.weight);
 */
export function fusedAttention(own: Tensor, info: Tensor, wq: Tensor, wk: Tensor, wv: Tensor): Tensor {
  return runOp(attentionOp, [own, info, wq, wk, wv], null);
}

/** The [B, 2] softmax weights on [own, info] of the same computation (no gradient). */
export function fusedAttentionWeights(own: Tensor, info: Tensor, wq: Tensor, wk: Tensor, wv: Tensor): Tensor {
  return runOp(attentionWeightsOp, [own, info, wq, wk, wv], null);
}

// The AITM loss as one op: every task's mean binary cross-entropy plus the label-constraint
// term, forward in one kernel (a single-workgroup reduction) and its gradient in another.
// The composed form in ../models/loss.ts (`aitmLossReference`) is what it is tested against.
//   loss = sum_t mean_b BCE(p_bt, y_bt) + alpha * mean_b sum_{t>=1} relu(p_bt - p_b,t-1)
//   BCE(p, y) = -(y * max(log p, -100) + (1 - y) * max(log(1 - p), -100))   (PyTorch's clamp)
//   dL/dp_bt = [ (p - y) / max(p (1 - p), 1e-12) + alpha * (1[p_bt > p_b,t-1] - 1[p_b,t+1 > p_bt]) ] / B
// (relu's derivative at 0 is 0, as in PyTorch.)
// On wasm both run in the aitm kernel library (wasm/loss.ts): the forward one float64 sum on
// one thread, the gradient float32 SIMD split among the threads.

import {
  allocArray,
  defineOp,
  fmtShape,
  kernelPreamble,
  memoWgsl,
  Params,
  runOp,
  wgslType,
  type Kernel,
  type Tensor,
  type TypedArray,
} from '@aitm/tensor';
import { aitmWasm } from './wasm-library.js';

/** ATen's floor on p (1 - p) in BCE's gradient, as float32. */
const GRAD_EPS = Math.fround(1e-12);
const WG = 256;

interface Attrs {
  readonly alpha: number;
}

const bceTerm = (p: number, y: number): number => (y - 1) * Math.max(Math.log(1 - p), -100) - y * Math.max(Math.log(p), -100);

function forwardCpu(P: TypedArray, Y: TypedArray, batch: number, tasks: number, alpha: number, out: TypedArray): TypedArray {
  let bce = 0;
  let con = 0;
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < tasks; t++) {
      const e = b * tasks + t;
      bce += bceTerm(P[e]!, Y[e]!);
      if (t > 0) con += Math.max(P[e]! - P[e - 1]!, 0);
    }
  }
  out[0] = bce / batch + (alpha * con) / batch;
  return out;
}

function backwardCpu(P: TypedArray, Y: TypedArray, dy: number, batch: number, tasks: number, alpha: number, out: TypedArray): TypedArray {
  for (let e = 0; e < batch * tasks; e++) {
    const t = e % tasks;
    const p = P[e]!;
    let c = 0;
    if (t > 0 && p - P[e - 1]! > 0) c += 1;
    if (t + 1 < tasks && P[e + 1]! - p > 0) c -= 1;
    out[e] = (dy * ((p - Y[e]!) / Math.max((1 - p) * p, GRAD_EPS) + alpha * c)) / batch;
  }
  return out;
}

/** max(a, b) that keeps a NaN `a`, as the CPU kernels' Math.max does (WGSL's max may drop it). */
const NAN_MAX_WGSL = '\nfn nan_max(a: f32, b: f32) -> f32 { return select(max(a, b), a, is_nan(a)); }\n';

const FORWARD_WGSL = memoWgsl((t: string) => `${kernelPreamble(3)}${NAN_MAX_WGSL}@group(0) @binding(0) var<storage, read> P: array<${t}>;
@group(0) @binding(1) var<storage, read> Y: array<${t}>;
@group(0) @binding(2) var<storage, read_write> OUT: array<${t}>;
var<workgroup> acc: array<f32, ${WG}>;

@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  let batch = pu(0u);
  let tasks = pu(1u);
  var bce = 0.0;
  var con = 0.0;
  for (var b = lid; b < batch; b += ${WG}u) {
    for (var t = 0u; t < tasks; t++) {
      let e = b * tasks + t;
      let p = P[e];
      let y = Y[e];
      bce += (y - 1.0) * nan_max(log(1.0 - p), -100.0) - y * nan_max(log(p), -100.0);
      if (t > 0u) { con += nan_max(p - P[e - 1u], 0.0); }
    }
  }
  acc[lid] = bce + pf(2u) * con;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { acc[lid] += acc[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) { OUT[0] = acc[0] / f32(batch); }
}`);

const BACKWARD_WGSL = memoWgsl((t: string) => `${kernelPreamble(4)}${NAN_MAX_WGSL}@group(0) @binding(0) var<storage, read> P: array<${t}>;
@group(0) @binding(1) var<storage, read> Y: array<${t}>;
@group(0) @binding(2) var<storage, read> DY: array<${t}>;
@group(0) @binding(3) var<storage, read_write> OUT: array<${t}>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let e = linear_workgroup_id(wid, nwg) * ${WG}u + lid;
  if (e >= pu(0u)) { return; }
  let tasks = pu(1u);
  let t = e % tasks;
  let p = P[e];
  var c = 0.0;
  if (t > 0u && p - P[e - 1u] > 0.0) { c += 1.0; }
  if (t + 1u < tasks && P[e + 1u] - p > 0.0) { c -= 1.0; }
  OUT[e] = DY[0] * ((p - Y[e]) / nan_max((1.0 - p) * p, pf(4u)) + pf(2u) * c) * pf(3u);
}`);

const forwardWasm: Kernel<'wasm', Attrs> = (backend, [p, y], out, { alpha }) => {
  const [batch, tasks] = p!.shape as [number, number];
  const o = backend.alloc(1, out.dtype);
  const loss = backend.kernelsOf(aitmWasm).lossForward(p!.data.ptr, y!.data.ptr, batch, tasks, alpha);
  new Float32Array(backend.wasmMemory.buffer, o.ptr, 1)[0] = loss;
  return o;
};

const backwardWasm: Kernel<'wasm', Attrs> = (backend, [p, y, dy], out, { alpha }) => {
  const [batch, tasks] = p!.shape as [number, number];
  const o = backend.alloc(out.size, out.dtype);
  backend.parallelIn(aitmWasm, 'lossGradRange', [p!.data.ptr, y!.data.ptr, dy!.data.ptr, o.ptr, out.size, tasks, alpha, 1 / batch, GRAD_EPS, 0, 0], 9, out.size, backend.minChunk(8));
  return o;
};

/** dL/dp given (p, y, dy): the loss op's gradient, no gradient of its own. */
export const aitmLossGradOp = defineOp<Attrs>({
  name: 'aitmLossGrad',
  infer: ([p]) => ({ shape: p!.shape, dtype: p!.dtype }),
  kernels: {
    cpu: (_b, [p, y, dy], out, { alpha }) => {
      const [batch, tasks] = p!.shape as [number, number];
      return backwardCpu(p!.data, y!.data, dy!.data[0]!, batch, tasks, alpha, allocArray(out.dtype, out.size));
    },
    webgpu: (backend, [p, y, dy], out, { alpha }) => {
      const buf = backend.output(out);
      if (out.size === 0) return buf;
      const [batch, tasks] = p!.shape as [number, number];
      const params = new Params('aitmLossGrad').u32(out.size, tasks).f32(alpha, 1 / batch, GRAD_EPS);
      backend.run('aitmLossGrad', BACKWARD_WGSL(wgslType(out.dtype)), [p!.data, y!.data, dy!.data, buf], params, Math.ceil(out.size / WG));
      return buf;
    },
    wasm: backwardWasm,
  },
  grad: 'notImplemented',
});

/** The AITM training loss of probabilities p and labels y, both [B, nTask], as a 0-d tensor. */
export const aitmLossOp = defineOp<Attrs>({
  name: 'aitmLoss',
  infer: ([p, y]) => {
    if (p!.shape.length !== 2 || y!.shape.length !== 2 || p!.shape[0] !== y!.shape[0] || p!.shape[1] !== y!.shape[1]) {
      throw new Error(`aitmLoss: probabilities ${fmtShape(p!.shape)} and labels ${fmtShape(y!.shape)} must both be [B, nTask]`);
    }
    if (p!.dtype !== y!.dtype || p!.dtype === 'int32') {
      throw new Error(`aitmLoss: probabilities and labels must share a floating-point dtype, got ${p!.dtype} and ${y!.dtype}`);
    }
    return { shape: [], dtype: p!.dtype };
  },
  kernels: {
    cpu: (_b, [p, y], out, { alpha }) => {
      const [batch, tasks] = p!.shape as [number, number];
      return forwardCpu(p!.data, y!.data, batch, tasks, alpha, allocArray(out.dtype, 1));
    },
    webgpu: (backend, [p, y], out, { alpha }) => {
      const buf = backend.output(out);
      const [batch, tasks] = p!.shape as [number, number];
      const params = new Params('aitmLoss').u32(batch, tasks).f32(alpha);
      backend.run('aitmLoss', FORWARD_WGSL(wgslType(out.dtype)), [p!.data, y!.data, buf], params, 1);
      return buf;
    },
    wasm: forwardWasm,
  },
  grad: (dy, { inputs: [p, y], attrs }) => [runOp(aitmLossGradOp, [p!, y!, dy], attrs), null],
});

/** The fused AITM loss (see the file comment); labels get no gradient, as with torch's BCELoss. */
export function fusedAitmLoss(p: Tensor, y: Tensor, alpha: number): Tensor {
  return runOp(aitmLossOp, [p, y], { alpha });
}

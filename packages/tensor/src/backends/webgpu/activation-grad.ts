// WGSL kernel of activationGrad: dy times the activation's derivative, computed from the
// activation's output y, one element per thread.

import type { Kernel } from '../../backend.js';
import type { LinearActivation } from '../cpu/linear.js';
import { kernelPreamble, wgslType } from './backend.js';
import { Params } from './params.js';

const WG = 256;

const FACTOR: Record<LinearActivation, string> = {
  none: 'g',
  relu: 'select(0.0, g, y > 0.0)',
  sigmoid: 'g * (y * (1.0 - y))',
};

const code = (act: LinearActivation) => `${kernelPreamble(3)}
@group(0) @binding(0) var<storage, read> Y: array<f32>;
@group(0) @binding(1) var<storage, read> DY: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup_id(wid, nwg) * ${WG}u + lid;
  if (i >= pu(0u)) { return; }
  let y = Y[i];
  let g = DY[i];
  OUT[i] = ${FACTOR[act]};
}`;

export const gpuActivationGrad: Kernel<'webgpu', { act: LinearActivation }> = (backend, [y, dy], out, { act }) => {
  wgslType(out.dtype);
  const buf = backend.output(out);
  if (out.size === 0) return buf;
  backend.run('activationGrad', code(act), [y!.data, dy!.data, buf], new Params('activationGrad').u32(out.size), Math.ceil(out.size / WG));
  return buf;
};

// Prints the WebGPU adapter Dawn picks and fails when it is a software one (llvmpipe,
// SwiftShader), unless AITM_GPU_ALLOW_SOFTWARE=1: bench/gpu.sh must not report CPU figures as
// GPU ones. With NVIDIA, the adapter's vendor must be NVIDIA's (0x10de or "nvidia").

import { disposeWebGpu, initWebGpu, webGpuAdapter } from '@aitm/tensor';

await initWebGpu();
const a = webGpuAdapter()!;
disposeWebGpu();
console.log(`adapter: ${JSON.stringify(a)}`);
const allowSoftware = process.env.AITM_GPU_ALLOW_SOFTWARE === '1';
const nvidia = /nvidia|10de/i.test(`${a.vendor} ${a.description}`);
if (a.isSoftware && !allowSoftware) {
  console.error('check-adapter: the adapter is a software one; set AITM_GPU_ALLOW_SOFTWARE=1 to run anyway (a test of the script)');
  process.exit(1);
}
if (!a.isSoftware && !nvidia) console.warn('check-adapter: a hardware adapter, but not NVIDIA: figures are this GPU\'s');
process.exit(0);

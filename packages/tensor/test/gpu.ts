// Opens WebGPU for a test file. Without an adapter the GPU tests are skipped locally, but
// fail when AITM_REQUIRE_WEBGPU=1 (as CI sets it): a missing driver must not pass silently.

import { initWebGpu } from '../src/index.js';

export async function gpuAvailable(): Promise<boolean> {
  try {
    await initWebGpu();
    return true;
  } catch (e) {
    if (process.env.AITM_REQUIRE_WEBGPU === '1') throw e;
    console.warn(`WebGPU tests skipped: ${(e as Error).message.split('\n')[0]}`);
    return false;
  }
}

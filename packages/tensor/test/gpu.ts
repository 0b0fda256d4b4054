// Opens WebGPU for a test file: skipped locally without an adapter, but failing when
// AITM_REQUIRE_WEBGPU=1 (as CI sets it), so a missing driver never passes silently.

import { tryInitWebGpu } from '../src/index.js';

export const gpuAvailable = (): Promise<boolean> => tryInitWebGpu();

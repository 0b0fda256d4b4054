// Choosing the backend new tensors live on: `setBackend('cpu' | 'webgpu')`, or
// `initBackend()` which honours AITM_BACKEND and otherwise prefers WebGPU when an adapter
// exists, falling back to the CPU with one line saying why and how to get a driver.

import { registerBackend, setCurrentBackendName, currentBackend, type BackendName } from './backend.js';
import { CpuBackend } from './backends/cpu/backend.js';
import { initWebGpu } from './backends/webgpu/init.js';
import { initWasm } from './backends/wasm/init.js';
import { envVar } from './env.js';

registerBackend(new CpuBackend());

const NAMES: readonly BackendName[] = ['cpu', 'webgpu', 'wasm'];

/**
 * Makes `name` the backend for new tensors (initialising WebGPU if needed).
 *
 * @example
 * await setBackend('webgpu');
 */
export async function setBackend(name: BackendName): Promise<void> {
  if (!NAMES.includes(name)) throw new Error(`setBackend: unknown backend '${name}' (available: ${NAMES.join(', ')})`);
  if (name === 'webgpu') await initWebGpu();
  if (name === 'wasm') await initWasm();
  setCurrentBackendName(name);
}

/** The name of the backend new tensors are created on. */
export function getBackendName(): BackendName {
  return currentBackend().name;
}

export interface InitBackendOptions {
  /** Overrides AITM_BACKEND. */
  backend?: BackendName;
  /** Where the fallback notice goes (default: console.warn). */
  log?: (line: string) => void;
}

/**
 * Picks the default backend: the requested one (option or AITM_BACKEND) or, when none is
 * requested, WebGPU if an adapter exists and the CPU otherwise, saying so loudly.
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendName> {
  const env = envVar('AITM_BACKEND');
  const requested = opts.backend ?? (env === undefined || env === '' ? undefined : (env as BackendName));
  if (requested !== undefined) {
    await setBackend(requested);
    return requested;
  }
  try {
    await setBackend('webgpu');
    return 'webgpu';
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    (opts.log ?? console.warn)(
      `aitm: WebGPU is unavailable (${why}); falling back to the CPU backend. ` +
        'Install a Vulkan driver (see the README: on Debian 12, mesa-vulkan-drivers from bookworm-backports) to use the GPU path.',
    );
    await setBackend('cpu');
    return 'cpu';
  }
}

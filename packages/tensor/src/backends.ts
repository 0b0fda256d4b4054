// Choosing the backend new tensors live on: `setBackend('cpu' | 'webgpu' | 'wasm')`, or
// `initBackend()` which honours AITM_BACKEND and otherwise takes WebGPU on a hardware
// adapter and the wasm backend where the only adapter is a software one (llvmpipe,
// SwiftShader) or there is none, saying why in one line. The float64 CPU backend is the
// oracle: chosen only by name (or where WebAssembly itself is missing).

import { registerBackend, setCurrentBackendName, currentBackend, type BackendName } from './backend.js';
import { CpuBackend } from './backends/cpu/backend.js';
import { disposeWebGpu, initWebGpu, webGpuAdapter, webGpuBackend } from './backends/webgpu/init.js';
import { probeAdapterInChild } from './backends/webgpu/adapter-probe.js';
import { initWasm, wasmFlavour } from './backends/wasm/init.js';
import { envVar } from './env.js';

registerBackend(new CpuBackend());

const NAMES: readonly BackendName[] = ['cpu', 'webgpu', 'wasm'];

/**
 * Makes `name` the backend for new tensors (initialising WebGPU or wasm if needed).
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

/** Options of `initBackend`. */
export interface InitBackendOptions {
  /** Overrides AITM_BACKEND. */
  backend?: BackendName;
  /** Where the line saying which backend was chosen, and why, goes (default: console.warn). */
  log?: (line: string) => void;
}

const softwareReason = (a: { vendor: string; description: string; device: string }): string =>
  `the only WebGPU adapter is a software one (${[a.vendor, a.description || a.device].filter(Boolean).join(', ')})`;

/**
 * Picks the default backend: the requested one (option or AITM_BACKEND) or, when none is
 * requested, WebGPU on a hardware adapter; the wasm backend where the only WebGPU adapter is
 * a software one (on a CPU, WebAssembly SIMD is faster than a software rasteriser) or there
 * is no WebGPU; the CPU only where WebAssembly is missing too. All but the first say why.
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendName> {
  const env = envVar('AITM_BACKEND');
  const requested = opts.backend ?? (env === undefined || env === '' ? undefined : (env as BackendName));
  if (requested !== undefined) {
    await setBackend(requested);
    return requested;
  }
  const log = opts.log ?? console.warn;
  let why: string;
  const gpuWasOpen = webGpuBackend() !== null;
  // In Node, a child process says first whether the adapter is a software one, so that Dawn
  // (and its native warnings) is loaded here only when the GPU will be used (adapter-probe.ts).
  const probe = gpuWasOpen ? null : await probeAdapterInChild();
  if (probe?.found === true && probe.isSoftware) why = softwareReason(probe);
  else {
    try {
      await initWebGpu();
      const a = webGpuAdapter();
      if (a !== null && !a.isSoftware) {
        setCurrentBackendName('webgpu');
        return 'webgpu';
      }
      why = softwareReason({ vendor: a?.vendor ?? '', description: a?.description ?? '', device: a?.device ?? '' });
      // Close the software device again unless someone else opened it (their tensors live there).
      if (!gpuWasOpen) disposeWebGpu();
    } catch (e) {
      why = `WebGPU is unavailable (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
    }
  }
  try {
    await setBackend('wasm');
    log(`aitm: backend wasm (WebAssembly ${wasmFlavour()} on the CPU): ${why}. AITM_BACKEND=webgpu or --backend webgpu forces the GPU path.`);
    return 'wasm';
  } catch (e) {
    log(
      `aitm: ${why}, and the wasm backend cannot start (${e instanceof Error ? e.message : String(e)}); falling back to the CPU backend. ` +
        'Install a Vulkan driver (see the README: on Debian 12, mesa-vulkan-drivers from bookworm-backports) to use the GPU path.',
    );
    await setBackend('cpu');
    return 'cpu';
  }
}

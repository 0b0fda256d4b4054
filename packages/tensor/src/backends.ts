// Choosing the backend new tensors live on: `setBackend('cpu' | 'webgpu')`, or the
// environment variable AITM_BACKEND read by `initBackendFromEnv`.

import { registerBackend, setCurrentBackendName, hasBackend, type BackendName, currentBackend } from './backend.js';
import { CpuBackend } from './backends/cpu/backend.js';

registerBackend(new CpuBackend());

/**
 * Makes `name` the backend for new tensors.
 *
 * @example
 * await setBackend('cpu');
 */
export async function setBackend(name: BackendName): Promise<void> {
  if (!hasBackend(name)) throw new Error(`setBackend: unknown backend '${name}' (available: cpu)`);
  setCurrentBackendName(name);
}

/** The name of the backend new tensors are created on. */
export function getBackendName(): BackendName {
  return currentBackend().name;
}

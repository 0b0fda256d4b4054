// Loads TensorFlow.js with its WebGPU backend on the same Dawn adapter we use, as a peer.

import { create, globals } from 'webgpu';

type Tf = typeof import('@tensorflow/tfjs');

// Dawn crashes the process if its instance is garbage collected while a device lives,
// so the instance handed to tfjs is kept here for the life of the process.
let instance: GPU | undefined;
let tf: Tf | undefined;

/**
 * tfjs with its 'webgpu' backend active. The backend finds WebGPU through
 * navigator.gpu, which is set only while it starts: a navigator left behind keeps Node
 * from exiting.
 */
export async function loadTfjsWebGpu(): Promise<Tf> {
  if (tf) return tf;
  Object.assign(globalThis, globals);
  instance = create([]);
  const g = globalThis as { navigator?: unknown };
  const had = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: instance }, configurable: true, writable: true });
  try {
    const lib = await import('@tensorflow/tfjs');
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await lib.setBackend('webgpu'))) throw new Error('tfjs: the webgpu backend failed to start');
    await lib.ready();
    tf = lib;
  } finally {
    if (had) Object.defineProperty(globalThis, 'navigator', had);
    else delete g.navigator;
  }
  return tf;
}

// withMatmulKernel, on a stand-in for the WebGPU backend that records the WGSL of each
// dispatch (no GPU needed): the override reaches the products recorded inside the call and
// nothing after it, whether the call returns, nests or throws.

import { describe, expect, it } from 'vitest';
import type { KernelInput } from '../src/backend.js';
import type { WebGpuBackend } from '../src/backends/webgpu/backend.js';
import { gpuBmm, withMatmulKernel } from '../src/backends/webgpu/matmul.js';
import type { GpuBuffer } from '../src/backends/webgpu/runtime.js';

/** The first line (the kernel's description) of each WGSL module the backend was asked to run. */
const recorded: string[] = [];
const buffer = {} as GpuBuffer;
// Like llvmpipe: a software adapter with fixed 8-lane subgroups, where 'auto' shares A.
const backend = {
  runtime: {
    adapter: { isSoftware: true, features: ['subgroups'] },
    device: { adapterInfo: { subgroupMinSize: 8, subgroupMaxSize: 8 } },
    alloc: () => buffer,
    release: () => {},
  },
  output: () => buffer,
  run: (_label: string, code: string) => recorded.push(code.slice(0, code.indexOf('\n'))),
} as unknown as WebGpuBackend;

/** Records a [1, 64, 64] @ [1, 64, 64] product and says which kernel it was given. */
function kernelOf(): string {
  const input: KernelInput<GpuBuffer> = { data: buffer, shape: [1, 64, 64], dtype: 'float32', size: 64 * 64 };
  recorded.length = 0;
  gpuBmm(backend, [input, input], { shape: [1, 64, 64], dtype: 'float32', size: 64 * 64 }, { transA: false, transB: false });
  expect(recorded).toHaveLength(1);
  const line = recorded[0]!;
  if (line.includes('naive')) return 'naive';
  return line.includes('shared-memory') ? 'tiled' : line.includes('through the subgroup') ? 'subgroup' : 'register';
}

describe('withMatmulKernel', () => {
  it('forces the kernel of the products recorded inside the call, and only those', () => {
    expect(kernelOf()).toBe('subgroup');
    expect(withMatmulKernel('tiled', kernelOf)).toBe('tiled');
    expect(withMatmulKernel('register', kernelOf)).toBe('register');
    expect(withMatmulKernel('naive', kernelOf)).toBe('naive');
    expect(withMatmulKernel('auto', kernelOf)).toBe('subgroup');
    expect(kernelOf()).toBe('subgroup');
  });

  it('nests, restoring the outer choice when the inner call returns', () => {
    expect(withMatmulKernel('tiled', () => [withMatmulKernel('register', kernelOf), kernelOf()])).toEqual(['register', 'tiled']);
    expect(kernelOf()).toBe('subgroup');
  });

  it('restores the choice when fn throws', () => {
    expect(() =>
      withMatmulKernel('tiled', () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(kernelOf()).toBe('subgroup');
  });

  it('refuses an async fn, whose continuation would run outside the scope', () => {
    expect(() => withMatmulKernel('tiled', async () => kernelOf())).toThrow('withMatmulKernel: fn returned a promise');
    expect(kernelOf()).toBe('subgroup');
  });
});

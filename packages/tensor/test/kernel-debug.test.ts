// AITM_DEBUG=wgsl / debugKernels: each WebGPU pipeline is reported once, as it is made, with
// the op and shapes it was made for and its WGSL. The switch itself is checked without a GPU.

import { afterAll, describe, expect, it, vi } from 'vitest';
import * as T from '../src/index.js';
import { withMatmulKernel } from '../src/backends/webgpu/matmul.js';
import { debugFlagsAskForWgsl, formatKernel, type KernelDebugEntry } from '../src/kernel-debug.js';
import { gpuAvailable } from './gpu.js';

const gpu = await gpuAvailable();
afterAll(() => {
  T.debugKernels(false);
  T.disposeWebGpu();
});

describe('the AITM_DEBUG switch', () => {
  it("asks for the kernels when its comma-separated list names 'wgsl'", () => {
    expect(debugFlagsAskForWgsl('wgsl')).toBe(true);
    expect(debugFlagsAskForWgsl('other, wgsl')).toBe(true);
    expect(debugFlagsAskForWgsl(undefined)).toBe(false);
    expect(debugFlagsAskForWgsl('')).toBe(false);
    expect(debugFlagsAskForWgsl('wgsl2')).toBe(false);
  });

  it('is read once, when the package loads', async () => {
    vi.stubEnv('AITM_DEBUG', 'wgsl');
    vi.resetModules();
    try {
      const fresh = await import('../src/kernel-debug.js');
      expect(fresh.isKernelDebugOn()).toBe(true);
      fresh.debugKernels(false);
      expect(fresh.isKernelDebugOn()).toBe(false);
    } finally {
      vi.unstubAllEnvs();
      vi.resetModules();
    }
    expect(T.isKernelDebugOn()).toBe(false);
  });

  it('formats an entry as a header line (op, shapes) and the WGSL', () => {
    const e: KernelDebugEntry = {
      op: 'bmm',
      label: 'bmm',
      inputs: [
        { shape: [1, 3, 5], dtype: 'float32' },
        { shape: [1, 5, 2], dtype: 'float32' },
      ],
      output: { shape: [1, 3, 2], dtype: 'float32' },
      entryPoint: 'main',
      wgsl: 'fn main() {}\n',
    };
    expect(formatKernel(e, 1)).toBe('[wgsl] #1 bmm: [1,3,5] float32, [1,5,2] float32 -> [1,3,2] float32\nfn main() {}\n');
    expect(formatKernel({ ...e, op: 'adamStep', label: 'adamStep', inputs: [], output: null, entryPoint: 'step' })).toBe(
      '[wgsl] adamStep (entry step)\nfn main() {}\n',
    );
  });
});

describe.skipIf(!gpu)('debugKernels on WebGPU', () => {
  it('reports each new pipeline once, with the op, its shapes and the WGSL', async () => {
    const a = T.randn([3, 5], { backend: 'webgpu' });
    const b = T.randn([5, 2], { backend: 'webgpu' });
    const seen: KernelDebugEntry[] = [];
    T.debugKernels(true, (k) => seen.push(k));
    try {
      const c = withMatmulKernel('naive', () => T.matmul(a, b));
      withMatmulKernel('naive', () => T.matmul(a, b)).dispose(); // same kernel: cached, not reported again
      await c.data();
      expect(seen).toHaveLength(1);
      const k = seen[0]!;
      expect(k.op).toBe('bmm');
      expect(k.inputs).toEqual([
        { shape: [1, 3, 5], dtype: 'float32' },
        { shape: [1, 5, 2], dtype: 'float32' },
      ]);
      expect(k.output).toEqual({ shape: [1, 3, 2], dtype: 'float32' });
      expect(k.wgsl).toContain('naive reference kernel');
      expect(k.wgsl).toContain('for (var k = 0u; k < K; k += 1u)');
    } finally {
      T.debugKernels(false);
    }
  });

  it('prints to stderr by default, and nothing once turned off', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const x = T.randn([7, 3], { backend: 'webgpu' });
      T.debugKernels(true);
      await T.exp(x).data();
      T.debugKernels(false);
      await T.log(x).data();
      const printed = err.mock.calls.map((c) => String(c[0]));
      expect(printed.some((p) => /^\[wgsl\] #\d+ exp: \[7,3\] float32 -> \[7,3\] float32\n/.test(p))).toBe(true);
      expect(printed.some((p) => p.includes(' log: '))).toBe(false);
    } finally {
      err.mockRestore();
      T.debugKernels(false);
    }
  });
});

// The browser half of the kernel parity suite: every op-fixture case of every package (the
// cases test/op-coverage.test.ts runs in Node) on the browser's own WebGPU adapter, forward
// and gradient against PyTorch's values, recording which ops ran; then on the CPU and wasm
// backends in the page. test/browser.test.ts loads
// this page in headless Chromium and reads window.parityResult.

import * as T from '@aitm/tensor';
import { checkFloat32, compare, runCase, scaleOf, type OpCase } from '../fixture-ops.js';
import tensorOps from '../../packages/tensor/test/fixtures/ops.json';
import modelOps from '../fixtures/model-ops.json';

interface ParityResult {
  adapter: string;
  cases: number;
  failures: string[];
  /** The same cases on the CPU backend in the page (float64, to PyTorch's rounding). */
  cpuFailures: string[];
  /** The same cases on the wasm backend in the page (float32). */
  wasmFailures: string[];
  /** The ops the wasm cases ran. */
  wasmRan: string[];
  /** The wasm backend's thread count in this page (more than 1 only when cross-origin isolated). */
  wasmThreads: number;
  ran: string[];
  registered: string[];
}

declare global {
  interface Window {
    parityResult?: ParityResult;
    parityError?: string;
  }
}

/** wasm only, on as many threads as the page allows (the suite serves it cross-origin isolated). */
const wasmOnly = new URLSearchParams(location.search).get('only') === 'wasm';

async function main(): Promise<ParityResult> {
  const cases = [...(tensorOps as { cases: OpCase[] }).cases, ...(modelOps as { cases: OpCase[] }).cases];
  if (wasmOnly) return { adapter: 'none', cases: cases.length, failures: [], cpuFailures: [], ...(await onWasm(cases)), ran: [], registered: [...T.opRegistry.keys()] };
  await T.setBackend('webgpu');
  const failures: string[] = [];
  const ran = new Set<string>();
  for (const c of cases) {
    try {
      const r = runCase(c, 'webgpu');
      await checkFloat32(c, r);
      for (const op of [...r.forwardOps, ...r.backwardOps]) ran.add(op);
    } catch (e) {
      failures.push(e instanceof Error ? e.message : String(e));
    }
  }
  // The CPU backend runs in the browser too: the same cases in float64.
  const cpuFailures: string[] = [];
  for (const c of cases) {
    try {
      const r = runCase(c, 'cpu');
      const tight = (f: OpCase['output']) => ({ atol: 1e-12 * Math.max(1, scaleOf(f)), rtol: 1e-10 });
      compare(`${c.name} forward on cpu`, r.y.dataSync(), r.y.shape, c.output, tight(c.output));
      r.grads.forEach((g, k) => c.grads![k] && compare(`${c.name} gradient ${k} on cpu`, g!.dataSync(), g!.shape, c.grads![k]!, tight(c.grads![k]!)));
    } catch (e) {
      cpuFailures.push(e instanceof Error ? e.message : String(e));
    }
  }
  const a = T.webGpuAdapter();
  return {
    adapter: a ? `${a.vendor}, ${a.architecture}, ${a.description}` : 'none',
    cases: cases.length,
    failures,
    cpuFailures,
    ...(await onWasm(cases)),
    ran: [...ran],
    registered: [...T.opRegistry.keys()],
  };
}

/** The cases on the wasm backend, in float32 as on the GPU, with its thread count. */
async function onWasm(cases: OpCase[]): Promise<Pick<ParityResult, 'wasmFailures' | 'wasmRan' | 'wasmThreads'>> {
  await T.initWasm();
  const wasmFailures: string[] = [];
  const wasmRan = new Set<string>();
  for (const c of cases) {
    try {
      const r = runCase(c, 'wasm');
      await checkFloat32(c, r);
      for (const op of [...r.forwardOps, ...r.backwardOps]) wasmRan.add(op);
    } catch (e) {
      wasmFailures.push(e instanceof Error ? e.message : String(e));
    }
  }
  return { wasmFailures, wasmRan: [...wasmRan], wasmThreads: T.wasmThreads()?.threads ?? 0 };
}

main().then(
  (r) => {
    window.parityResult = r;
    document.getElementById('out')!.textContent = JSON.stringify({ ...r, ran: r.ran.length, wasmRan: r.wasmRan.length, registered: r.registered.length }, null, 2);
  },
  (e: unknown) => {
    window.parityError = e instanceof Error ? e.message : String(e);
  },
);

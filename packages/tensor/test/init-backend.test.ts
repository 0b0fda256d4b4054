// initBackend's automatic choice, in a fresh process as a user's script meets it: WebGPU on a
// hardware adapter, wasm where the only adapter is a software one (then Dawn is never loaded
// in the process, so its native warnings never print), and the child-process adapter probe
// agrees with the adapter opened in-process.

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { probeAdapterInChild } from '../src/backends/webgpu/adapter-probe.js';
import { webGpuAdapter } from '../src/index.js';
import { gpuAvailable } from './gpu.js';

const dist = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'index.js')).href;

/** Runs initBackend() with no backend asked for in a fresh Node process: its stdout and stderr. */
function freshInit(): { out: string; err: string } {
  const script = `const T = await import(${JSON.stringify(dist)}); const b = await T.initBackend({ log: (l) => console.log(l) }); console.log('chose ' + b); process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, AITM_BACKEND: '' }, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`initBackend in a fresh process failed (${r.status ?? r.signal}): ${r.stderr}`);
  return { out: r.stdout, err: r.stderr };
}

describe('initBackend with no backend asked for', () => {
  it('the probe in a child process reports the adapter the process itself opens', async () => {
    const probe = await probeAdapterInChild();
    if (!(await gpuAvailable())) {
      expect(probe === null || probe.found === false).toBe(true);
      return;
    }
    const here = webGpuAdapter()!;
    expect(probe).toEqual({ found: true, vendor: here.vendor, description: here.description, device: here.device, isSoftware: here.isSoftware });
  }, 120_000);

  it('takes WebGPU on a hardware adapter, else wasm saying why; on a software adapter Dawn prints nothing', async () => {
    const probe = await probeAdapterInChild();
    const { out, err } = freshInit();
    if (probe?.found === true && !probe.isSoftware) {
      expect(out).toMatch(/^chose webgpu$/m);
      return;
    }
    expect(out).toMatch(/^chose wasm$/m);
    expect(out).toMatch(/^aitm: backend wasm \(WebAssembly .* on the CPU\): /m);
    if (probe?.found === true) {
      expect(out).toContain('the only WebGPU adapter is a software one');
      // Dawn was never loaded in the process: none of its lines reached stderr.
      expect(err).not.toMatch(/artificially reduced/);
    }
  }, 240_000);
});

describe('enableRelaxedSimd', () => {
  it('gives a wasm backend started afterwards the fused multiply-add kernels, in a fresh process', () => {
    const script =
      `const T = await import(${JSON.stringify(dist)}); const before = T.hasRelaxedSimd(); const now = await T.enableRelaxedSimd();` +
      `await T.initWasm(); const x = T.tensor([1.5, 2], { backend: 'wasm' }); const y = T.matmul(x.reshape([1, 2]), x.reshape([2, 1]));` +
      `console.log(JSON.stringify({ before, now, flavour: T.wasmFlavour(), y: Array.from(await y.data()) })); process.exit(0);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { before: boolean; now: boolean; flavour: string; y: number[] };
    // Node 20 validates relaxed SIMD only with the flag; Node 22 has it by default.
    const major = Number(process.versions.node.split('.')[0]);
    if (major < 22) expect(got.before).toBe(false);
    expect(got.now).toBe(true);
    expect(got.flavour).toBe('relaxed-simd');
    expect(got.y).toEqual([1.5 * 1.5 + 2 * 2]);
  }, 120_000);
});

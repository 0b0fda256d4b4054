// Training is reproducible by default on every backend: `aitm train` twice with one seed writes
// the same model.safetensors bytes on the CPU, on wasm and on WebGPU (whose scatter-adds sum in
// index order unless --nondeterministic). Small runs: 12k rows, 2 epochs of batch 512, so the
// embedding gradients add many repeated ids (8 fields of 20 ids) in every step.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { disposeWebGpu, isDeterministic, tryInitWebGpu, type BackendName } from '@aitm/tensor';
import { trainCommand } from '../src/commands/train.js';

const gpu = await tryInitWebGpu();
afterAll(() => disposeWebGpu());

async function trainBytes(backend: BackendName, dir: string, extra: { nondeterministic?: boolean } = {}): Promise<{ bytes: Buffer; auc: number[] }> {
  const { report } = await trainCommand({ model: 'aitm', syntheticRows: 12_000, epochs: 2, batchSize: 512, lr: 0.01, seed: 3, backend, out: dir, quiet: true, log: () => {}, ...extra });
  return { bytes: readFileSync(join(dir, 'model.safetensors')), auc: report.test.auc };
}

describe('aitm train is reproducible by default', () => {
  const root = mkdtempSync(join(tmpdir(), 'aitm-repro-'));
  const backends: BackendName[] = ['cpu', 'wasm', ...(gpu ? (['webgpu'] as const) : [])];
  for (const backend of backends) {
    it(`${backend}: two runs with one seed write the same model.safetensors bytes`, async () => {
      const a = await trainBytes(backend, join(root, `${backend}-1`));
      const b = await trainBytes(backend, join(root, `${backend}-2`));
      expect(a.bytes.length).toBeGreaterThan(1000);
      expect(b.auc).toEqual(a.auc);
      expect(Buffer.compare(a.bytes, b.bytes), `${backend}: model.safetensors differs between runs`).toBe(0);
    });
  }

  it.runIf(gpu)('webgpu --nondeterministic trains with the atomic kernels and leaves the default on afterwards', async () => {
    const r = await trainBytes('webgpu', join(root, 'webgpu-fast'), { nondeterministic: true });
    // The model is close to the deterministic one (same data and seed), only the last bits may differ.
    const d = await trainBytes('webgpu', join(root, 'webgpu-3'));
    r.auc.forEach((a, t) => expect(Math.abs(a - d.auc[t]!)).toBeLessThan(0.01));
    expect(isDeterministic()).toBe(true);
  });
});

// A checkpoint holding a NaN is refused wherever a model is loaded (`aitm predict
// --checkpoint`, `--model-dir`, the CLI's exit status), naming the file and the tensor,
// instead of predicting a NaN column with exit status 0.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodeSafetensors, parseTorchCheckpoint, readSafetensors } from '@aitm/nn/node';
import { importCommand, predictCommand } from '../src/node.js';

const fx = (p: string) => fileURLToPath(new URL(`./fixtures/torch-rechub/${p}`, import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'aitm-model-checks-'));
const data = fx('data.csv');
const DENSE = ['D1', 'D2'];
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/**
 * aitm_bn.pth with the first value of a bias set to NaN: torch.save stores records
 * uncompressed, so the bias's bytes are found in the file and overwritten in place.
 */
function nanBiasCheckpoint(dir: string): { file: string; tensor: string } {
  const bytes = new Uint8Array(readFileSync(fx('aitm_bn.pth')));
  const entries = parseTorchCheckpoint(bytes, 'aitm_bn.pth');
  const bias = entries.find((e) => e.name.endsWith('.bias') && e.dtype === 'F32' && e.data.length >= 2 && new Set(e.data).size === e.data.length)!;
  const needle = new Uint8Array(Float32Array.from(bias.data).buffer);
  const at = Buffer.from(bytes).indexOf(Buffer.from(needle));
  expect(at).toBeGreaterThan(0);
  bytes.set(new Uint8Array(Float32Array.from([NaN]).buffer), at);
  const file = join(dir, 'nan.pth');
  writeFileSync(file, bytes);
  expect(Number.isNaN(parseTorchCheckpoint(bytes).find((e) => e.name === bias.name)!.data[0])).toBe(true);
  return { file, tensor: bias.name };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('aitm predict refuses a model with non-finite values', () => {
  it('--checkpoint: a NaN bias is refused naming the file and the tensor, and no predictions are written', async () => {
    const dir = tmp();
    const { file, tensor } = nanBiasCheckpoint(dir);
    const out = join(dir, 'pred.csv');
    await expect(predictCommand({ checkpoint: file, dense: DENSE, data, out, backend: 'cpu' })).rejects.toThrow(
      new RegExp(`nan\\.pth: 1 tensor with invalid values[^]*tensor '${escape(tensor)}': holds 1 non-finite value`),
    );
    expect(existsSync(out)).toBe(false);
  });

  it('--model-dir: a NaN in model.safetensors is refused naming the tensor', async () => {
    const dir = join(tmp(), 'model');
    await importCommand({ checkpoint: fx('aitm_bn.pth'), dense: DENSE, data, out: dir, log: () => {} });
    const st = join(dir, 'model.safetensors');
    const f = await readSafetensors(st);
    const victim = f.entries.find((e) => e.name.endsWith('.bias'))!;
    const entries = f.entries.map((e) => (e === victim ? { ...e, data: Float32Array.from(e.data, (v, i) => (i === 0 ? NaN : v)) } : e));
    writeFileSync(st, encodeSafetensors(entries, f.metadata));
    const out = join(dir, 'pred.csv');
    await expect(predictCommand({ modelDir: dir, data, out, backend: 'cpu' })).rejects.toThrow(
      new RegExp(`model\\.safetensors: 1 tensor with invalid values[^]*tensor '${escape(victim.name)}': holds 1 non-finite value`),
    );
    expect(existsSync(out)).toBe(false);
  });

  it.runIf(existsSync(cli))('the CLI exits non-zero, naming the tensor', () => {
    const dir = tmp();
    const { file, tensor } = nanBiasCheckpoint(dir);
    const out = join(dir, 'pred.csv');
    const r = spawnSync(process.execPath, [cli, 'predict', '--checkpoint', file, '--dense', DENSE.join(','), '--data', data, '--out', out, '--backend', 'cpu'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`tensor '${tensor}': holds 1 non-finite value`);
    expect(existsSync(out)).toBe(false);
  });
});

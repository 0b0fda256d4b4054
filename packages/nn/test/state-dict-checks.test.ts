// Loading a model checks its values: a checkpoint with a NaN bias, a negative running
// variance or a negative batch count is refused naming the file and the tensor (or, asked
// to, loaded with a warning), so it cannot predict NaN silently.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { zipSync } from 'fflate';
import { describe, expect, it, vi } from 'vitest';
import { tensor } from '@aitm/tensor';
import { InvalidStateDictError, MLP, checkStateDict, loadCheckpoint, loadCheckpointEntries, parseTorchCheckpoint, saveCheckpoint, saveSafetensors, type SafetensorsEntry } from '../src/node.js';

const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'nn-checks-'));
const f32 = (name: string, values: number[]): SafetensorsEntry => ({ name, dtype: 'F32', shape: [values.length], data: Float32Array.from(values) });

describe('checkStateDict', () => {
  it('accepts finite values and statistics in range', () => {
    const ok = [f32('w', [1, -2]), f32('bn.running_var', [0, 3]), { name: 'bn.num_batches_tracked', dtype: 'I64', shape: [], data: Int32Array.from([7]) } as const];
    expect(checkStateDict(ok, { file: 'ok.pth' })).toEqual([]);
  });

  it('refuses non-finite values and statistics out of range, naming the file and every tensor', () => {
    const entries = [
      f32('towers.0.bias', [0.5, NaN, Infinity]),
      f32('w', [1]),
      f32('bn.running_var', [1, -0.25]),
      { name: 'bn.num_batches_tracked', dtype: 'I64', shape: [], data: Int32Array.from([-1]) } as const,
      f32('other.num_batches_tracked', [2.5]),
    ];
    let err: unknown;
    try {
      checkStateDict(entries, { file: 'bad.pth' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidStateDictError);
    const e = err as InvalidStateDictError;
    expect(e.problems.map((p) => p.tensor)).toEqual(['towers.0.bias', 'bn.running_var', 'bn.num_batches_tracked', 'other.num_batches_tracked']);
    expect(e.message).toMatch(/^bad\.pth: 4 tensors with invalid values/);
    expect(e.message).toContain("tensor 'towers.0.bias': holds 2 non-finite values of 3 (first: NaN at element 1); expected finite values");
    expect(e.message).toContain("tensor 'bn.running_var': a running variance must be >= 0, but element 1 is -0.25");
    expect(e.message).toContain("tensor 'bn.num_batches_tracked': a batch count must be an integer >= 0, but element 0 is -1");
    expect(e.message).toContain("tensor 'other.num_batches_tracked': a batch count must be an integer >= 0, but element 0 is 2.5");
  });

  it("onProblem: 'warn' reports the same problems and returns them", () => {
    const warn = vi.fn();
    const problems = checkStateDict([f32('b', [NaN])], { file: 'w.pth', onProblem: 'warn', warn });
    expect(problems).toEqual([{ tensor: 'b', what: 'holds 1 non-finite value of 1 (first: NaN at element 0); expected finite values' }]);
    expect(warn).toHaveBeenCalledOnce();
    expect(warn.mock.calls[0]![0]).toMatch(/^warning: w\.pth: 1 tensor with invalid values \(loaded anyway\):\n  tensor 'b': holds 1 non-finite/);
  });
});

describe('checkpoint loading checks the values', () => {
  it('loadCheckpoint refuses a NaN bias naming the file and the tensor, and assigns nothing', async () => {
    const m = new MLP(3, { dims: [2], batchNorm: false });
    const file = path.join(tmp(), 'nan.safetensors');
    await saveCheckpoint(m, file);
    const sd = m.stateDict();
    await saveSafetensors(file, { ...sd, 'mlp.0.bias': tensor([0.1, NaN]) });
    for (const t of Object.values(sd)) t.dispose();
    const before = m.stateEntries().map(([, t]) => [...t.dataSync()]);
    await expect(loadCheckpoint(m, file)).rejects.toThrow(/loadCheckpoint: .*nan\.safetensors: 1 tensor with invalid values .*\n  tensor 'mlp\.0\.bias': holds 1 non-finite value of 2 \(first: NaN at element 1\)/);
    expect(m.stateEntries().map(([, t]) => [...t.dataSync()])).toEqual(before);
    // Asked to, it loads with a warning.
    const warn = vi.fn();
    await loadCheckpoint(m, file, { onProblem: 'warn', warn });
    expect(warn).toHaveBeenCalledOnce();
    expect([...m.stateEntries().find(([n]) => n === 'mlp.0.bias')![1].dataSync()][1]).toBeNaN();
    m.dispose();
  });

  it('a negative running_var in a torch.save checkpoint is refused when loaded, naming the tensor', () => {
    const m = new MLP(2, { dims: [2], batchNorm: true });
    const entries = m.stateEntries().map(([name, t]): SafetensorsEntry => {
      const values = [...t.dataSync()];
      return { name, dtype: t.dtype === 'int32' ? 'I64' : 'F32', shape: t.shape, data: t.dtype === 'int32' ? Int32Array.from(values) : Float32Array.from(name.endsWith('running_var') ? [1, -1] : values) };
    });
    expect(() => loadCheckpointEntries(m, entries, 'bn.pth')).toThrow(/bn\.pth: 1 tensor with invalid values .*\n  tensor 'mlp\.1\.running_var': a running variance must be >= 0, but element 1 is -1/);
    m.dispose();
  });

  it('reading is not loading: parseTorchCheckpoint still returns a NaN tensor for inspection', () => {
    const pickle = [0x80, 2, 0x7d, 0x28, 0x8c, 1, 0x62, ...[0x63, ...Array.from('torch._utils\n_rebuild_tensor_v2\n', (c) => c.charCodeAt(0))], 0x28,
      0x28, 0x8c, 7, ...Array.from('storage', (c) => c.charCodeAt(0)), ...[0x63, ...Array.from('torch\nFloatStorage\n', (c) => c.charCodeAt(0))], 0x8c, 1, 0x30, 0x8c, 3, 0x63, 0x70, 0x75, 0x4b, 1, 0x74, 0x51,
      0x4b, 0, 0x28, 0x4b, 1, 0x74, 0x28, 0x4b, 1, 0x74, 0x89, 0x7d, 0x74, 0x52, 0x75, 0x2e];
    const zip = zipSync({ 'a/data.pkl': Uint8Array.from(pickle), 'a/data/0': new Uint8Array(Float32Array.from([NaN]).buffer) }, { level: 0 });
    const [e] = parseTorchCheckpoint(zip, 'nan.pth');
    expect(e!.name).toBe('b');
    expect(e!.data[0]).toBeNaN();
  });
});

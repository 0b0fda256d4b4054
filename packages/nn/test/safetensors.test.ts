// safetensors against the PyTorch-written fixture (fixtures/mlp_bn.safetensors, described in
// nn.json "safetensors"): reading, a byte-identical rewrite, module checkpoints, atomic
// writes, and the errors a truncated or malformed file raises.

import { promises as fsp, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tensor, tidy, type Tensor } from '@aitm/tensor';
import {
  MLP,
  encodeSafetensors,
  loadCheckpoint,
  loadSafetensors,
  parseSafetensors,
  readSafetensors,
  saveCheckpoint,
  saveSafetensors,
} from '../src/node.js';
import { FIXTURES, expectClose, nnFixture } from './helpers.js';

const S = nnFixture().safetensors;
const FILE = path.join(FIXTURES, 'mlp_bn.safetensors');
const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'nn-st-'));

function disposeAll(sd: Record<string, Tensor>): void {
  for (const t of Object.values(sd)) t.dispose();
}

afterEach(() => vi.restoreAllMocks());

describe('reading the PyTorch-written file', () => {
  it('gives every tensor with its name, dtype mapping, shape and exact values', async () => {
    const sd = await loadSafetensors(FILE);
    expect(Object.keys(sd)).toEqual(S.tensors.map((t: { name: string }) => t.name));
    for (const t of S.tensors) {
      const got = sd[t.name]!;
      expect(got.dtype, t.name).toBe(t.dtype === 'F32' ? 'float32' : 'int32');
      expect([...got.shape], t.name).toEqual(t.shape);
      expect([...got.dataSync()], t.name).toEqual(t.data);
    }
    disposeAll(sd);
  });

  it('keeps the file dtypes and the metadata', async () => {
    const f = await readSafetensors(FILE);
    expect(f.metadata).toEqual(S.metadata);
    expect(f.entries.map((e) => e.dtype)).toEqual(S.tensors.map((t: { dtype: string }) => t.dtype));
  });

  it('writing the loaded tensors back reproduces the file byte for byte', async () => {
    const sd = await loadSafetensors(FILE);
    const out = path.join(tmp(), 'copy.safetensors');
    // num_batches_tracked goes back to I64 by default; extra.i32 stays I32.
    await saveSafetensors(out, sd, S.metadata);
    const a = readFileSync(out);
    const b = readFileSync(FILE);
    expect(a.length).toBe(S.file_size);
    expect(a.readBigUInt64LE(0)).toBe(BigInt(S.header_length));
    expect(a.equals(b)).toBe(true);
    disposeAll(sd);
  });
});

describe('module checkpoints', () => {
  it('loadCheckpoint fills an MLP with the file (float32) and saveCheckpoint writes the same tensors', async () => {
    const m = new MLP(6, { dims: [5, 4] });
    await loadCheckpoint(m, FILE, { strict: false });
    const byName = new Map(S.tensors.map((t: { name: string; data: number[] }) => [t.name, t.data]));
    for (const [name, t] of m.stateEntries()) expect([...t.dataSync()], name).toEqual(byName.get(name));
    // strict mode names the one unexpected key
    await expect(loadCheckpoint(m, FILE)).rejects.toThrow(/Unexpected key\(s\) in state_dict: "extra.i32"/);

    const out = path.join(tmp(), 'mlp.safetensors');
    await saveCheckpoint(m, out);
    const f = await readSafetensors(out);
    expect(f.metadata).toEqual({ format: 'pt' });
    const expected = S.tensors.filter((t: { name: string }) => t.name !== 'extra.i32');
    expect(f.entries.map((e) => [e.name, e.dtype, e.shape])).toEqual(expected.map((t: { name: string; dtype: string; shape: number[] }) => [t.name, t.dtype, t.shape]));
    // Everything but the extra tensor: the bytes after the header equal the fixture's.
    const full = readFileSync(FILE);
    const mine = readFileSync(out);
    const dataStart = (b: Buffer): number => 8 + Number(b.readBigUInt64LE(0));
    expect(mine.subarray(dataStart(mine)).equals(full.subarray(dataStart(full) + 12))).toBe(true);
    m.dispose();
  });

  it('casts F64 to float32 for a float32 module', async () => {
    const dir = tmp();
    const file = path.join(dir, 'f64.safetensors');
    const w = tensor([[0.1, 0.2, 0.3]], { dtype: 'float64' });
    const b = tensor([0.7], { dtype: 'float64' });
    await saveSafetensors(file, { weight: w, bias: b });
    const { Linear } = await import('../src/index.js');
    const lin = new Linear(3, 1);
    await loadCheckpoint(lin, file);
    expect(lin.weight.dtype).toBe('float32');
    expect([...lin.weight.dataSync()]).toEqual([Math.fround(0.1), Math.fround(0.2), Math.fround(0.3)]);
    expectClose(lin.bias!, [0.7], 1e-7);
    for (const t of [w, b]) t.dispose();
    lin.dispose();
  });

  it('validates every name, shape and kind before assigning anything', async () => {
    const dir = tmp();
    const file = path.join(dir, 'bad.safetensors');
    await saveSafetensors(file, {
      'mlp.0.weight': tensor(new Float32Array(6 * 4), { shape: [4, 6] }), // wrong shape
      'mlp.0.bias': tensor(new Int32Array(5)), // ints into a float parameter
      'mlp.9.weight': tensor([1]), // unexpected
    });
    const m = new MLP(6, { dims: [5] });
    const before = m.stateEntries().map(([, t]) => [...t.dataSync()]);
    const err = await loadCheckpoint(m, file).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(err).toMatch(/bad\.safetensors/);
    expect(err).toMatch(/Missing key\(s\) in state_dict: "mlp\.1\.weight", "mlp\.1\.bias", "mlp\.1\.running_mean", "mlp\.1\.running_var", "mlp\.1\.num_batches_tracked", "mlp\.4\.weight", "mlp\.4\.bias"\./);
    expect(err).toMatch(/Unexpected key\(s\) in state_dict: "mlp\.9\.weight"\./);
    expect(err).toMatch(/size mismatch for mlp\.0\.weight: copying a param with shape \[4,6\] from checkpoint, the shape in current model is \[5,6\]/);
    expect(err).toMatch(/dtype \(I32\) mismatch for mlp\.0\.bias/);
    expect(m.stateEntries().map(([, t]) => [...t.dataSync()])).toEqual(before);
    m.dispose();
  });
});

describe('atomic writes', () => {
  it('a write that fails leaves the existing file intact and no temporary file behind', async () => {
    const dir = tmp();
    const file = path.join(dir, 'model.safetensors');
    const t = tensor([1, 2, 3]);
    await saveSafetensors(file, { a: t });
    const original = readFileSync(file);

    // Failure while renaming (after the temp file was fully written).
    vi.spyOn(fsp, 'rename').mockRejectedValueOnce(new Error('EIO: simulated'));
    await expect(saveSafetensors(file, { a: t, b: t })).rejects.toThrow(/simulated/);
    expect(readFileSync(file).equals(original)).toBe(true);
    expect(await fsp.readdir(dir)).toEqual(['model.safetensors']);

    // Failure while encoding (an I64 that is not an integer): nothing is written at all.
    const frac = tensor([0.5]);
    await expect(saveSafetensors(file, { x: frac }, null, { dtypes: { x: 'I64' } })).rejects.toThrow(/tensor 'x': value 0.5 at element 0/);
    expect(readFileSync(file).equals(original)).toBe(true);
    expect(await fsp.readdir(dir)).toEqual(['model.safetensors']);
    t.dispose();
    frac.dispose();
  });
});

describe('malformed files name the file and the tensor', () => {
  const good = (): Uint8Array =>
    tidy(() =>
      encodeSafetensors([
        { name: 'a', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) },
        { name: 'b', dtype: 'I64', shape: [1], data: new Int32Array([7]) },
      ]),
    );
  const withHeader = (header: string, data = new Uint8Array(16)): Uint8Array => {
    const h = new TextEncoder().encode(header);
    const out = new Uint8Array(8 + h.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
    out.set(h, 8);
    out.set(data, 8 + h.length);
    return out;
  };

  it('round-trips the good file', () => {
    const f = parseSafetensors(good(), 'good');
    expect(f.entries.map((e) => [e.name, e.dtype, [...e.data]])).toEqual([
      ['a', 'F32', [1, 2]],
      ['b', 'I64', [7]],
    ]);
  });

  it('truncated files', () => {
    const g = good();
    expect(() => parseSafetensors(g.subarray(0, 5), 'x.st')).toThrow(/safetensors: x\.st: truncated: 5 bytes/);
    expect(() => parseSafetensors(g.subarray(0, 20), 'x.st')).toThrow(/x\.st: header length \d+ exceeds the 12 bytes/);
    expect(() => parseSafetensors(g.subarray(0, g.length - 4), 'x.st')).toThrow(/x\.st: tensor 'b': data_offsets \[8, 16\] are out of range for 12 data bytes/);
  });

  it('bad JSON, unknown dtypes, bad shapes and offsets, size mismatches, overlaps', () => {
    expect(() => parseSafetensors(withHeader('{"a": '), 'f')).toThrow(/f: the header is not valid UTF-8 JSON/);
    expect(() => parseSafetensors(withHeader('[1]'), 'f')).toThrow(/f: the header is not a JSON object/);
    expect(() => parseSafetensors(withHeader('{"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}'), 'f')).toThrow(
      /f: tensor 'w': unsupported dtype "BF16"/,
    );
    expect(() => parseSafetensors(withHeader('{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}'), 'f')).toThrow(/tensor 'w': invalid shape/);
    expect(() => parseSafetensors(withHeader('{"w":{"dtype":"F32","shape":[2],"data_offsets":[4]}}'), 'f')).toThrow(/tensor 'w': invalid data_offsets/);
    expect(() => parseSafetensors(withHeader('{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}'), 'f')).toThrow(
      /tensor 'w': size mismatch: F32 \[3\] needs 12 bytes, data_offsets \[0, 8\] hold 8/,
    );
    expect(() =>
      parseSafetensors(
        withHeader('{"u":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"v":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}'),
        'f',
      ),
    ).toThrow(/tensor 'v': data_offsets \[4, 12\] overlap those of 'u' \[0, 8\]/);
    expect(() => parseSafetensors(withHeader('{"__metadata__":{"k":1}}'), 'f')).toThrow(/__metadata__ must be an object of strings/);
  });

  it('I64 values outside the int32 range', () => {
    const data = new Uint8Array(16);
    new DataView(data.buffer).setBigInt64(8, 1n << 40n, true);
    expect(() => parseSafetensors(withHeader('{"n":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}', data), 'f')).toThrow(
      /tensor 'n': I64 value 1099511627776 at element 1 is outside the int32 range/,
    );
    new DataView(data.buffer).setBigInt64(8, -5n, true);
    const ok = parseSafetensors(withHeader('{"n":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}', data), 'f');
    expect([...ok.entries[0]!.data]).toEqual([0, -5]);
  });

  it('loadSafetensors names the path', async () => {
    const dir = tmp();
    const file = path.join(dir, 'broken.safetensors');
    await fsp.writeFile(file, good().subarray(0, 30));
    await expect(loadSafetensors(file)).rejects.toThrow(/safetensors: .*broken\.safetensors: /);
  });
});

describe('untrusted safetensors layouts', () => {
  const file = (header: string, dataBytes: number): Uint8Array => {
    const h = new TextEncoder().encode(header);
    const out = new Uint8Array(8 + h.length + dataBytes);
    new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
    out.set(h, 8);
    return out;
  };
  const f32 = (name: string, n: number, begin: number) => `"${name}":{"dtype":"F32","shape":[${n}],"data_offsets":[${begin},${begin + 4 * n}]}`;
  /** The error `fn` throws, asserting it is the reader's own (never a raw JavaScript error). */
  const refusal = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      expect((e as Error).name).toBe('SafetensorsError');
      return (e as Error).message;
    }
    throw new Error('expected a refusal');
  };

  it('an empty tensor between two overlapping ones does not hide the overlap', () => {
    const header = `{${f32('u', 2, 0)},${f32('e', 0, 4)},${f32('v', 2, 4)}}`;
    expect(refusal(() => parseSafetensors(file(header, 12), 'hide.st'))).toBe("safetensors: hide.st: tensor 'v': data_offsets [4, 12] overlap those of 'u' [0, 8]");
  });

  it('a range inside an earlier, longer one is an overlap', () => {
    // Sorted: big [0, 16], a [4, 8], b [8, 12]: b overlaps big, not its neighbour a.
    const header = `{${f32('big', 4, 0)},${f32('a', 1, 4)},${f32('b', 1, 8)}}`;
    expect(refusal(() => parseSafetensors(file(header, 16), 'inside.st'))).toMatch(/inside\.st: tensor 'a': data_offsets \[4, 8\] overlap those of 'big' \[0, 16\]/);
  });

  it('gaps, trailing bytes and empty tensors inside another are refused, as the reference reader does', () => {
    expect(refusal(() => parseSafetensors(file(`{${f32('u', 1, 0)},${f32('v', 1, 8)}}`, 12), 'gap.st'))).toBe(
      "safetensors: gap.st: tensor 'v': data_offsets [8, 12] leave bytes [4, 8) after the end of 'u' that no tensor owns",
    );
    expect(refusal(() => parseSafetensors(file(`{${f32('u', 2, 0)}}`, 12), 'tail.st'))).toBe(
      'safetensors: tail.st: data bytes [8, 12) after the last tensor are owned by no tensor (4 trailing bytes)',
    );
    expect(refusal(() => parseSafetensors(file(`{${f32('u', 2, 0)},${f32('e', 0, 4)}}`, 8), 'empty.st'))).toBe(
      "safetensors: empty.st: tensor 'e': the empty tensor's data_offsets [4, 4] lie inside those of 'u' [0, 8]",
    );
    // Empty tensors at a boundary, and a file of empty tensors only, are fine.
    const ok = parseSafetensors(file(`{${f32('e0', 0, 0)},${f32('u', 1, 0)},${f32('e1', 0, 4)},${f32('v', 1, 4)},${f32('e2', 0, 8)}}`, 8), 'ok.st');
    expect(ok.entries.map((e) => e.name)).toEqual(['e0', 'u', 'e1', 'v', 'e2']);
    expect(parseSafetensors(file(`{${f32('e', 0, 0)}}`, 0)).entries).toHaveLength(1);
  });

  it('a name given twice in the header is refused as ambiguous', () => {
    expect(refusal(() => parseSafetensors(file(`{${f32('u', 1, 0)}, ${f32('u', 1, 4)}}`, 8), 'dup.st'))).toBe(
      'safetensors: dup.st: the header gives the name "u" twice: which entry is meant is ambiguous',
    );
    // Nested names and escaped quotes are not top-level names.
    const nested = `{"__metadata__":{"u":"x","k\\"":"u"},${f32('u', 1, 0)},${f32('k\\"', 1, 4)}}`;
    expect(parseSafetensors(file(nested, 8)).entries.map((e) => e.name)).toEqual(['u', 'k"']);
  });

  it('a deeply nested or huge shape is refused naming it briefly (no stack overflow)', () => {
    const deep = `{"w":{"dtype":"F32","shape":${'['.repeat(100000)}${']'.repeat(100000)},"data_offsets":[0,0]}}`;
    expect(refusal(() => parseSafetensors(file(deep, 0), 'deep.st'))).toBe(
      "safetensors: deep.st: tensor 'w': invalid shape [[[[...]]]]: expected an array of integers >= 0",
    );
    const huge = `{"w":{"dtype":"F32","shape":[${Array(200000).fill('"x"').join(',')}],"data_offsets":[0,0]}}`;
    expect(refusal(() => parseSafetensors(file(huge, 0), 'huge.st'))).toMatch(/^safetensors: huge\.st: tensor 'w': invalid shape \["x", "x", .*\.\.\./);
    const unsafe = `{"w":{"dtype":"F32","shape":[1073741824,1073741824,1073741824],"data_offsets":[0,0]}}`;
    expect(refusal(() => parseSafetensors(file(unsafe, 0), 'unsafe.st'))).toMatch(/unsafe\.st: tensor 'w': size mismatch: F32 \[1073741824, ?1073741824, ?1073741824\] needs more than 2\^53 bytes/);
  });

  it('every truncation or byte flip of a valid file fails with a named error, never a raw one', () => {
    const good = file(`{"__metadata__":{"format":"pt"},${f32('a', 2, 0)},"n":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}}`, 16);
    for (let cut = 0; cut < good.length; cut++) {
      const msg = refusal(() => parseSafetensors(good.subarray(0, cut), 'cut.st'));
      expect(msg).toMatch(/^safetensors: cut\.st: /);
    }
    for (let at = 0; at < good.length; at++) {
      const flipped = good.slice();
      flipped[at] ^= 0x5a;
      try {
        parseSafetensors(flipped, 'flip.st');
      } catch (e) {
        expect((e as Error).name, `flip at ${at}`).toBe('SafetensorsError');
        expect((e as Error).message).not.toMatch(/unexpected error/);
      }
    }
  });
});

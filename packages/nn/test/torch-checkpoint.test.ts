// Reading PyTorch torch.save checkpoints: values against the tensors PyTorch saved
// (fixtures/gen_torch_rechub.py in the aitm package writes tensors.pth and tensors.json),
// views read through their strides, and hostile or foreign pickles refused by name.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { parseTorchCheckpoint, readCheckpointEntries } from '../src/node.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** A torch-style zip whose data.pkl is `pickle` (bytes built by hand, no Python needed). */
function zipWithPickle(pickle: number[]): Uint8Array {
  return zipSync({ 'archive/data.pkl': Uint8Array.from(pickle) }, { level: 0 });
}
const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));
const PROTO2 = [0x80, 0x02];
const GLOBAL = (module: string, name: string) => [0x63, ...ascii(`${module}\n${name}\n`)];
const SHORT_STR = (s: string) => [0x8c, s.length, ...ascii(s)];
const [TUPLE1, EMPTY_TUPLE, REDUCE, STOP] = [0x85, 0x29, 0x52, 0x2e];

describe('torch.save checkpoints', () => {
  it('reads every tensor of a state dict as PyTorch saved it: dtypes, 0-d, views, strides, half and bfloat16', async () => {
    const want = JSON.parse(readFileSync(fixture('tensors.json'), 'utf8')) as Record<string, { shape: number[]; data: number[] }>;
    const entries = await readCheckpointEntries(fixture('tensors.pth'));
    expect(entries.map((e) => e.name)).toEqual(Object.keys(want)); // the dict's order
    for (const e of entries) {
      expect(e.shape, e.name).toEqual(want[e.name]!.shape);
      expect(Array.from(e.data), e.name).toEqual(want[e.name]!.data.map((v) => (e.dtype === 'F32' ? Math.fround(v) : v)));
    }
    const dtypes = Object.fromEntries(entries.map((e) => [e.name, e.dtype]));
    expect(dtypes).toMatchObject({ f32: 'F32', f64: 'F64', f16: 'F32', bf16: 'F32', i64_scalar: 'I64', i32: 'I32', flag: 'I32' });
  });

  it('refuses the legacy (pre-1.6) format, saying how to re-save it', async () => {
    await expect(readCheckpointEntries(fixture('legacy.pth'))).rejects.toThrow(/legacy \(pre-1\.6\) torch\.save format; re-save it/);
  });

  it('refuses a checkpoint saved on a big-endian machine, saying how to re-save it', () => {
    const big = zipSync({ 'archive/data.pkl': Uint8Array.from([...PROTO2, 0x7d, STOP]), 'archive/byteorder': Uint8Array.from(ascii('big')) }, { level: 0 });
    expect(() => parseTorchCheckpoint(big, 'be.pth')).toThrow('torch checkpoint: be.pth: saved on a big-endian machine; re-save it on a little-endian one');
  });

  it('refuses a global that is not part of a state dict, by name, before calling anything', () => {
    const evil = zipWithPickle([...PROTO2, ...GLOBAL('os', 'system'), ...SHORT_STR('touch /tmp/pwned'), TUPLE1, REDUCE, STOP]);
    expect(() => parseTorchCheckpoint(evil, 'evil.pth')).toThrow(/evil\.pth: data\.pkl at byte \d+: refusing global 'os\.system'/);
    const model = zipWithPickle([...PROTO2, ...GLOBAL('__main__', 'Net'), EMPTY_TUPLE, REDUCE, STOP]);
    expect(() => parseTorchCheckpoint(model, 'model.pth')).toThrow(/refusing global '__main__\.Net'/);
  });

  it('refuses a REDUCE of anything but the two calls a state dict makes', () => {
    const callStorage = zipWithPickle([...PROTO2, ...GLOBAL('torch', 'FloatStorage'), EMPTY_TUPLE, REDUCE, STOP]);
    expect(() => parseTorchCheckpoint(callStorage)).toThrow(/refusing to call 'torch\.FloatStorage'/);
    const dictWithArgs = zipWithPickle([...PROTO2, ...GLOBAL('collections', 'OrderedDict'), ...SHORT_STR('x'), TUPLE1, REDUCE, STOP]);
    expect(() => parseTorchCheckpoint(dictWithArgs)).toThrow(/OrderedDict called with arguments/);
    const reduceString = zipWithPickle([...PROTO2, ...SHORT_STR('eval'), EMPTY_TUPLE, REDUCE, STOP]);
    expect(() => parseTorchCheckpoint(reduceString)).toThrow(/REDUCE of something that is not an allowed global/);
  });

  it('refuses opcodes a state dict never uses, and files that are not checkpoints', () => {
    const inst = zipWithPickle([...PROTO2, 0x69, ...ascii('os\nsystem\n'), STOP]); // INST
    expect(() => parseTorchCheckpoint(inst)).toThrow(/unsupported pickle opcode 0x69/);
    expect(() => parseTorchCheckpoint(Uint8Array.from(ascii('hello')), 'x.pth')).toThrow('torch checkpoint: x.pth: not a zip archive');
    const notDict = zipWithPickle([...PROTO2, ...SHORT_STR('just a string'), STOP]);
    expect(() => parseTorchCheckpoint(notDict)).toThrow(/not a dict of tensors \(save model\.state_dict\(\), not the model\)/);
  });
});

// Hostile archives: everything a file declares is checked against what it holds, and every
// error names the file and the tensor (or zip record, or pickle byte offset), never a raw
// JavaScript message. The files are built by hand (a state-dict pickle and a zip).

const [MARK, TUPLE, BINPERSID, SETITEM, NEWFALSE, EMPTY_LIST, APPEND, APPENDS, NONE] = [0x28, 0x74, 0x51, 0x73, 0x89, 0x5d, 0x61, 0x65, 0x4e];
const BINPUT = (i: number) => [0x71, i];
const BINGET = (i: number) => [0x68, i];
/** A pickled int: BININT1, BININT (int32) or LONG1 (8 bytes). */
function INT(n: number): number[] {
  if (n >= 0 && n < 256) return [0x4b, n];
  if (n >= -(2 ** 31) && n < 2 ** 31) return [0x4a, ...new Uint8Array(new Int32Array([n]).buffer)];
  return [0x8a, 8, ...new Uint8Array(new BigInt64Array([BigInt(n)]).buffer)];
}
const INT_TUPLE = (xs: readonly number[]) => [MARK, ...xs.flatMap(INT), TUPLE];

interface TensorSpec {
  name: string;
  key?: string;
  storage?: string;
  numel: number;
  offset?: number;
  shape: number[];
  stride?: number[];
}
const contiguous = (shape: number[]) => shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
/** The pickle torch.save writes for an OrderedDict of tensors (one storage each unless `key` says otherwise). */
function stateDictPickle(tensors: readonly TensorSpec[]): number[] {
  const items = tensors.flatMap((t, i) => [
    ...SHORT_STR(t.name),
    ...GLOBAL('torch._utils', '_rebuild_tensor_v2'),
    MARK,
    ...[MARK, ...SHORT_STR('storage'), ...GLOBAL('torch', t.storage ?? 'FloatStorage'), ...SHORT_STR(t.key ?? String(i)), ...SHORT_STR('cpu'), ...INT(t.numel), TUPLE, BINPERSID],
    ...INT(t.offset ?? 0),
    ...INT_TUPLE(t.shape),
    ...INT_TUPLE(t.stride ?? contiguous(t.shape)),
    NEWFALSE,
    ...GLOBAL('collections', 'OrderedDict'), EMPTY_TUPLE, REDUCE,
    TUPLE,
    REDUCE,
    SETITEM,
  ]);
  return [...PROTO2, ...GLOBAL('collections', 'OrderedDict'), EMPTY_TUPLE, REDUCE, ...items, STOP];
}
/** A torch-style zip of a state dict: data.pkl plus one float32 record per storage key. */
function torchZip(tensors: readonly TensorSpec[], records?: Record<string, Uint8Array>): Uint8Array {
  const files: Record<string, Uint8Array> = { 'archive/data.pkl': Uint8Array.from(stateDictPickle(tensors)) };
  tensors.forEach((t, i) => {
    files[`archive/data/${t.key ?? i}`] ??= new Uint8Array(new Float32Array(t.numel).map((_, j) => j + 1).buffer);
  });
  return zipSync({ ...files, ...records }, { level: 0 });
}
/** The error `fn` throws, asserting it is the reader's own (named, never a raw JavaScript error). */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect((e as Error).name).toBe('TorchCheckpointError');
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('untrusted torch.save archives', () => {
  it('a hand-built state dict reads back (the builder is right)', () => {
    const entries = parseTorchCheckpoint(torchZip([{ name: 'w', numel: 6, shape: [2, 3] }, { name: 't', key: '0', numel: 6, shape: [3, 2], stride: [1, 3] }]));
    expect(entries.map((e) => [e.name, e.shape, Array.from(e.data)])).toEqual([
      ['w', [2, 3], [1, 2, 3, 4, 5, 6]],
      ['t', [3, 2], [1, 4, 2, 5, 3, 6]],
    ]);
  });

  it('a huge declared shape is refused naming the tensor, before anything is allocated', () => {
    const msg = refusal(() => parseTorchCheckpoint(torchZip([{ name: 'big', numel: 1, shape: [4000000000000], stride: [0] }]), 'big.pth'));
    expect(msg).toMatch(/^torch checkpoint: big\.pth: tensor 'big': shape \[4000000000000\] and stride \[0\] make 4000000000000 elements/);
    const unsafe = refusal(() => parseTorchCheckpoint(torchZip([{ name: 'huge', numel: 1, shape: [2 ** 40, 2 ** 40], stride: [0, 0] }]), 'huge.pth'));
    expect(unsafe).toMatch(/huge\.pth: tensor 'huge': shape \[1099511627776,1099511627776\] has more elements than can be counted exactly/);
  });

  it('a negative storage offset is refused naming the byte offset in data.pkl', () => {
    const msg = refusal(() => parseTorchCheckpoint(torchZip([{ name: 'neg', numel: 4, offset: -8, shape: [2] }]), 'neg.pth'));
    expect(msg).toMatch(/^torch checkpoint: neg\.pth: data\.pkl at byte \d+: _rebuild_tensor_v2 with storage offset -8, not an integer >= 0/);
  });

  it('a stride-0 view expanding a small storage into a huge tensor is refused (the view bound)', () => {
    // 16 bytes of storage declaring a [2^24, 4] tensor: 2^26 elements from 4 stored.
    const msg = refusal(() => parseTorchCheckpoint(torchZip([{ name: 'bn.weight', numel: 4, shape: [2 ** 24, 4], stride: [0, 1] }]), 'expand.pth'));
    expect(msg).toMatch(/expand\.pth: tensor 'bn\.weight': shape \[16777216,4\] and stride \[0,1\] make 67108864 elements.*from 4 stored elements.*at most 8x/);
    // A small broadcast stays within the bound and reads as torch would.
    const small = parseTorchCheckpoint(torchZip([{ name: 'b', numel: 2, shape: [3, 2], stride: [0, 1] }]));
    expect(Array.from(small[0]!.data)).toEqual([1, 2, 1, 2, 1, 2]);
    // Many views of one storage count together: each is small, all of them are not.
    const many = Array.from({ length: 40 }, (_, i) => ({ name: `v${i}`, key: '0', numel: 1, shape: [2000], stride: [0] }));
    expect(refusal(() => parseTorchCheckpoint(torchZip(many), 'many.pth'))).toMatch(/many\.pth: tensor 'v32': .*the tensors so far 66000, from 1 stored elements/);
  });

  it('a view past its storage, a storage record of the wrong size and a storage declared two ways are refused', () => {
    expect(refusal(() => parseTorchCheckpoint(torchZip([{ name: 'w', numel: 4, offset: 2, shape: [3] }]), 'past.pth'))).toMatch(
      /past\.pth: tensor 'w': offset 2, shape \[3\] and stride \[1\] reach past its storage of 4 elements/,
    );
    const short = torchZip([{ name: 'w', numel: 4, shape: [4] }], { 'archive/data/0': new Uint8Array(12) });
    expect(refusal(() => parseTorchCheckpoint(short, 'short.pth'))).toMatch(/short\.pth: tensor 'w': storage record data\/0 holds 12 bytes, but its id declares 4 FloatStorage elements \(16 bytes\)/);
    const twoWays = torchZip([{ name: 'a', key: '0', numel: 4, shape: [4] }, { name: 'b', key: '0', numel: 2, shape: [2] }]);
    expect(refusal(() => parseTorchCheckpoint(twoWays, 'two.pth'))).toMatch(/two\.pth: tensor 'b': storage "0" is declared as 2 FloatStorage elements here and as 4/);
  });

  it('a key set twice, and two data.pkl records, are refused as ambiguous', () => {
    const pickle = stateDictPickle([{ name: 'w', numel: 1, shape: [1] }, { name: 'w', numel: 1, shape: [1] }]);
    const twice = zipSync({ 'archive/data.pkl': Uint8Array.from(pickle), 'archive/data/0': new Uint8Array(4), 'archive/data/1': new Uint8Array(4) }, { level: 0 });
    expect(refusal(() => parseTorchCheckpoint(twice, 'twice.pth'))).toMatch(/twice\.pth: data\.pkl at byte \d+: the key "w" is set twice/);
    const two = zipSync({ 'a/data.pkl': Uint8Array.from([...PROTO2, 0x7d, STOP]), 'b/data.pkl': Uint8Array.from([...PROTO2, 0x7d, STOP]) }, { level: 0 });
    expect(refusal(() => parseTorchCheckpoint(two, 'two.pth'))).toMatch(/two\.pth: 2 data\.pkl records \("a\/data\.pkl", "b\/data\.pkl"\): which one is the checkpoint is ambiguous/);
  });

  it('a deeply nested key is refused naming it briefly (no stack overflow)', () => {
    const deep = zipWithPickle([...PROTO2, 0x7d, ...Array.from({ length: 100000 }, () => EMPTY_LIST).flat(), ...Array(99999).fill(APPEND), NONE, SETITEM, STOP]);
    expect(refusal(() => parseTorchCheckpoint(deep, 'deep.pth'))).toMatch(/^torch checkpoint: deep\.pth: a key \[\[\[\[\.\.\.\]\]\]\] is not a string$/);
  });

  it('a huge or deeply nested persistent id is refused naming it briefly (no stack overflow)', () => {
    const huge = zipWithPickle([...PROTO2, EMPTY_LIST, MARK, ...Array(300000).fill(NONE), APPENDS, BINPERSID, STOP]);
    expect(refusal(() => parseTorchCheckpoint(huge, 'huge.pth'))).toMatch(/^torch checkpoint: huge\.pth: data\.pkl at byte \d+: unsupported persistent id \[None|null/);
    const deep = zipWithPickle([...PROTO2, ...Array.from({ length: 100000 }, () => EMPTY_LIST).flat(), ...Array(99999).fill(APPEND), BINPERSID, STOP]);
    expect(refusal(() => parseTorchCheckpoint(deep, 'deep.pth'))).toMatch(/deep\.pth: data\.pkl at byte \d+: unsupported persistent id \[\[\[\[\.\.\.\]\]\]\]$/);
  });

  it('cyclic keys and persistent ids are refused naming the cycle', () => {
    const cycle = [EMPTY_LIST, ...BINPUT(0), ...BINGET(0), APPEND]; // a list that contains itself
    const key = zipWithPickle([...PROTO2, 0x7d, ...cycle, NONE, SETITEM, STOP]);
    expect(refusal(() => parseTorchCheckpoint(key, 'key.pth'))).toBe('torch checkpoint: key.pth: a key [<cycle>] is not a string');
    const pid = zipWithPickle([...PROTO2, ...cycle, BINPERSID, STOP]);
    expect(refusal(() => parseTorchCheckpoint(pid, 'pid.pth'))).toMatch(/pid\.pth: data\.pkl at byte \d+: unsupported persistent id \[<cycle>\]$/);
  });

  it('invalid UTF-8 in a string is refused naming the byte offset', () => {
    const bad = zipWithPickle([...PROTO2, 0x8c, 2, 0xff, 0xfe, STOP]);
    expect(refusal(() => parseTorchCheckpoint(bad, 'utf.pth'))).toMatch(/utf\.pth: data\.pkl at byte 4: a 2-byte string that is not valid UTF-8/);
  });

  it('inflates only the records the state dict uses: a huge unused record is never inflated', () => {
    // An unused record declaring 1 GiB whose deflate stream is corrupt: inflating it would
    // allocate 1 GiB and then throw.
    const zip = zipSync(
      {
        'archive/data.pkl': Uint8Array.from(stateDictPickle([{ name: 'w', numel: 2, shape: [2] }])),
        'archive/data/0': new Uint8Array(new Float32Array([1, 2]).buffer),
        'archive/junk': [new Uint8Array(4096).fill(7), { level: 9 }],
      },
      { level: 0 },
    );
    const junk = setRecordSize(zip, 'archive/junk', 2 ** 30, { corrupt: true });
    expect(parseTorchCheckpoint(junk, 'junk.pth').map((e) => [e.name, Array.from(e.data)])).toEqual([['w', [1, 2]]]);
  });

  it('a used record declaring more than deflate can produce, or more than it holds, is refused by name', () => {
    const files = {
      'archive/data.pkl': Uint8Array.from(stateDictPickle([{ name: 'w', numel: 2, shape: [2] }])),
      'archive/data/0': [new Uint8Array(new Float32Array([1, 2]).buffer), { level: 9 }] as [Uint8Array, { level: 9 }],
    };
    const liar = setRecordSize(zipSync(files, { level: 0 }), 'archive/data/0', 2 ** 30);
    expect(refusal(() => parseTorchCheckpoint(liar, 'liar.pth'))).toMatch(/liar\.pth: zip record "archive\/data\/0" declares 1073741824 bytes inflated from \d+: more than deflate can produce/);
    const longer = setRecordSize(zipSync(files, { level: 0 }), 'archive/data/0', 12);
    expect(refusal(() => parseTorchCheckpoint(longer, 'longer.pth'))).toMatch(/longer\.pth: zip record "archive\/data\/0" holds 8 bytes, not the 12 its header declares/);
  });

  it('records sharing bytes cannot make a small file read as more than it holds', () => {
    // data/1 and data/2 point at data/0's 1 KiB local record: 3 KiB read from a ~1.5 KiB file.
    const tensors = [0, 1, 2].map((i) => ({ name: `w${i}`, numel: 256, shape: [256] }));
    const zip = torchZip(tensors, { 'archive/data/1': new Uint8Array(1024), 'archive/data/2': new Uint8Array(1024) });
    const small = torchZip(tensors, { 'archive/data/1': new Uint8Array(0), 'archive/data/2': new Uint8Array(0) });
    expect(parseTorchCheckpoint(zip).map((e) => e.name)).toEqual(['w0', 'w1', 'w2']);
    const shared = pointAt(small, ['archive/data/1', 'archive/data/2'], 'archive/data/0', 1024);
    expect(shared.length).toBeLessThan(3 * 1024);
    expect(refusal(() => parseTorchCheckpoint(shared, 'shared.pth'))).toMatch(/shared\.pth: zip record "archive\/data\/\d" declares 1024 bytes, and with the other records read more than the file's \d+ bytes/);
  });

  it('a zip declaring more records than it can hold is refused', () => {
    const zip = zipWithPickle([...PROTO2, 0x7d, STOP]);
    const eocd = zip.length - 22;
    new DataView(zip.buffer).setUint16(eocd + 8, 65535, true);
    expect(refusal(() => parseTorchCheckpoint(zip, 'count.pth'))).toMatch(/count\.pth: the zip archive declares 65535 records at byte \d+, more than its \d+ bytes can hold/);
  });

  it('every malformed archive fails with a named error, never a raw one (truncations and byte flips)', () => {
    const good = torchZip([{ name: 'w', numel: 6, shape: [2, 3] }, { name: 'v', key: '0', numel: 6, offset: 1, shape: [2], stride: [2] }]);
    for (let cut = 4; cut < good.length; cut += 7) {
      try {
        parseTorchCheckpoint(good.subarray(0, cut), 'cut.pth');
      } catch (e) {
        expect((e as Error).name, `cut at ${cut}`).toBe('TorchCheckpointError');
        expect((e as Error).message).toMatch(/^torch checkpoint: cut\.pth: /);
      }
    }
    for (let at = 4; at < good.length; at += 3) {
      const flipped = good.slice();
      flipped[at] ^= 0xff;
      try {
        parseTorchCheckpoint(flipped, 'flip.pth');
      } catch (e) {
        expect((e as Error).name, `flip at ${at}`).toBe('TorchCheckpointError');
        expect((e as Error).message).not.toMatch(/unexpected error/);
      }
    }
  });
});

/**
 * `zip` with the record `name`'s declared uncompressed size set to `size` in its local and
 * central headers (and, with `corrupt`, its compressed bytes overwritten so inflating throws).
 */
function setRecordSize(zip: Uint8Array, name: string, size: number, opts: { corrupt?: boolean } = {}): Uint8Array {
  const out = zip.slice();
  const view = new DataView(out.buffer);
  const nameBytes = new TextEncoder().encode(name);
  const at = (sig: number, nameAt: number): number[] => {
    const hits: number[] = [];
    for (let i = 0; i + nameAt + nameBytes.length <= out.length; i++) {
      if (view.getUint32(i, true) === sig && nameBytes.every((b, k) => out[i + nameAt + k] === b)) hits.push(i);
    }
    return hits;
  };
  for (const l of at(0x04034b50, 30)) {
    view.setUint32(l + 22, size, true);
    if (opts.corrupt) {
      const data = l + 30 + view.getUint16(l + 26, true) + view.getUint16(l + 28, true);
      out.fill(0xff, data, data + view.getUint32(l + 18, true)); // BTYPE 3: invalid
    }
  }
  for (const c of at(0x02014b50, 46)) view.setUint32(c + 24, size, true);
  return out;
}

/** `zip` with the central records of `names` pointing at the local record of `target`, declaring `size` bytes stored. */
function pointAt(zip: Uint8Array, names: readonly string[], target: string, size: number): Uint8Array {
  const out = zip.slice();
  const view = new DataView(out.buffer);
  const enc = new TextEncoder();
  const find = (sig: number, nameAt: number, name: string): number => {
    const nb = enc.encode(name);
    for (let i = 0; i + nameAt + nb.length <= out.length; i++) {
      if (view.getUint32(i, true) === sig && view.getUint16(i + (sig === 0x02014b50 ? 28 : 26), true) === nb.length && nb.every((b, k) => out[i + nameAt + k] === b)) return i;
    }
    throw new Error(`no record ${name}`);
  };
  const local = find(0x04034b50, 30, target);
  for (const n of names) {
    const c = find(0x02014b50, 46, n);
    view.setUint32(c + 20, size, true);
    view.setUint32(c + 24, size, true);
    view.setUint32(c + 42, local, true);
  }
  return out;
}

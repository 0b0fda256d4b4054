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

// Inputs that would train nothing or something else than asked (an empty split, a zero
// learning rate, an id in hex, an id past its vocabulary, a stray huge id, a broken config
// file) are errors naming the flag, the file and line, or are reported where the user sees
// them (stderr, report.json).

import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { checkTrainOptions, readCsv, trainCommand, predictCommand, readConfigFile } from '../src/node.js';
import { isHelp, parseNumber } from '../src/cli-args.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'aitm-input-'));
const quiet = { log: () => {}, quiet: true };

describe('flags', () => {
  it('numbers are plain decimals: an empty value or hex is rejected with the flag name', () => {
    expect(parseNumber('lr', '0.01')).toBe(0.01);
    expect(parseNumber('lr', '1e-3')).toBe(0.001);
    expect(() => parseNumber('lr', '')).toThrow("--lr: expected a number, got ''");
    expect(() => parseNumber('epochs', '0x10')).toThrow("--epochs: expected a number, got '0x10'");
  });

  it('values that would train nothing or something else are rejected, naming the flag', () => {
    expect(() => checkTrainOptions({ epochs: 0 })).toThrow('--epochs: expected an integer >= 1, got 0');
    expect(() => checkTrainOptions({ epochs: -1 })).toThrow('--epochs: expected an integer >= 1, got -1');
    expect(() => checkTrainOptions({ epochs: 1.5 })).toThrow('--epochs: expected an integer >= 1, got 1.5');
    expect(() => checkTrainOptions({ syntheticRows: 0 })).toThrow('--rows: expected an integer >= 1, got 0');
    expect(() => checkTrainOptions({ lr: 0 })).toThrow('--lr: expected a positive number, got 0');
    expect(() => checkTrainOptions({ weightDecay: -0.1 })).toThrow('--weight-decay: expected a number >= 0, got -0.1');
    expect(() => checkTrainOptions({ epochs: 2, lr: 0.01, weightDecay: 0 })).not.toThrow();
  });

  it('help is not an unknown command', () => {
    expect(isHelp(['--help'])).toBe(true);
    expect(isHelp(['-h'])).toBe(true);
    expect(isHelp([])).toBe(true);
    expect(isHelp(['train'])).toBe(false);
  });
});

describe('zero training steps is not a run', () => {
  it('a header-only training file is an error, and no model is written', async () => {
    const dir = tmp();
    const data = join(dir, 'train.csv');
    writeFileSync(data, 'click,purchase,205,D508\n');
    const out = join(dir, 'run');
    await expect(trainCommand({ data, out, backend: 'cpu', ...quiet })).rejects.toThrow(/data: the training split of the data has no rows/);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(false);
  });

  it('an epoch whose loss was never read back records null, not 0', async () => {
    // About 6 steps per epoch; the loss is read every 25 steps, so only epoch 1 (step 0) reads it.
    const { report } = await trainCommand({ syntheticRows: 3000, epochs: 2, batchSize: 512, backend: 'cpu', out: join(tmp(), 'run'), ...quiet });
    expect(report.epochs).toHaveLength(2);
    // Epoch 1's is step 0's loss, the untrained model's: two BCEs of predictions near 0.5 (about
    // 2 ln 2), and more than the trained model's validation logloss of the two tasks together.
    const first = report.epochs[0]!.loss!;
    expect(Math.abs(first - 2 * Math.LN2)).toBeLessThan(0.5);
    expect(first).toBeGreaterThan(report.val.logloss[0]! + report.val.logloss[1]!);
    expect(report.epochs[1]!.loss).toBeNull();
  });

  it('too few synthetic rows for a test split is an error naming --rows', async () => {
    await expect(trainCommand({ syntheticRows: 2, backend: 'cpu', out: join(tmp(), 'run'), ...quiet })).rejects.toThrow(/split of the synthetic data \(--rows 2\) has no rows/);
  });
});

describe('data files', () => {
  const write = (text: string): string => {
    const f = join(tmp(), 'd.csv');
    writeFileSync(f, text);
    return f;
  };

  it('ids in hex or exponent form are errors with file and line, not read as 16 or 1000', async () => {
    await expect(readCsv(write('click,purchase,205\n0,0,0x10\n'))).rejects.toThrow(/d\.csv:2:\d+: sparse column "205": id written in hex or exponent form: "0x10"/);
    await expect(readCsv(write('click,purchase,205\n0,0,3\n1,0,1e3\n'))).rejects.toThrow(/d\.csv:3:\d+: sparse column "205": id written in hex or exponent form: "1e3"/);
    expect(Array.from((await readCsv(write('click,purchase,205\n0,0,3.0\n'))).data.sparse[0]!)).toEqual([3]); // pandas' floats
  });

  it('a huge bad field is echoed by its start and length, not whole', async () => {
    const big = 'x'.repeat(5_000_000);
    const err = await readCsv(write(`click,purchase,D1\n0,0,${big}\n`)).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/dense column "D1": not a finite number: "x{40}\.\.\." \(5000000 characters\)$/);
    expect((err as Error).message.length).toBeLessThan(300);
  });

  it('CR-only line endings are named as such (not "duplicate column")', async () => {
    await expect(readCsv(write('click,purchase,205\r0,0,1\r1,0,2\r'))).rejects.toThrow(/lines end in CR only \(old Mac style\)/);
  });

  it('an invalid config.json names its file', () => {
    const f = join(tmp(), 'config.json');
    writeFileSync(f, '{"model": "aitm", "labels": ["click"]');
    expect(() => readConfigFile(f)).toThrow(`${f}: not valid JSON`);
    writeFileSync(f, '{"model": "nope"}');
    expect(() => readConfigFile(f)).toThrow(new RegExp(`^${f.replace(/[.]/g, '\\.')}: .*model`));
  });
});

describe('ids past the vocabulary', () => {
  it('are counted per column on stderr by predict, and are an error with --strict-ids', async () => {
    const dir = tmp();
    const run = join(dir, 'run');
    const train = join(dir, 'train.csv');
    const rows = ['click,purchase,205,D1', ...Array.from({ length: 130 }, (_, i) => `${i % 2},${i % 4 === 0 ? 1 : 0},${i % 5},${(i % 7) / 7}`)];
    writeFileSync(train, `${rows.join('\n')}\n`);
    await trainCommand({ data: train, out: run, epochs: 1, batchSize: 32, backend: 'cpu', ...quiet });
    const data = join(dir, 'new.csv');
    writeFileSync(data, 'click,purchase,205,D1\n0,0,3,0.5\n0,0,99,0.5\n0,0,7,0.1\n');
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      await predictCommand({ modelDir: run, data, out: join(dir, 'p.csv'), backend: 'cpu' });
      expect(err.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(/new\.csv: ids at or beyond the vocabulary were read as slot 0: 205: 2 \(--strict-ids makes this an error\)/);
    } finally {
      err.mockRestore();
    }
    await expect(predictCommand({ modelDir: run, data, out: join(dir, 'p2.csv'), backend: 'cpu', strictIds: true })).rejects.toThrow(
      /new\.csv:3:\d+: sparse column "205": id 99 is at or beyond its vocabulary of 5 \(--strict-ids\)/,
    );
    const report = JSON.parse(readFileSync(join(run, 'report.json'), 'utf8'));
    expect(report.oovIds).toEqual({ [train]: {} });
  });
});

describe('a stray huge id', () => {
  it('is named on stderr with the table size it causes, and --max-vocab caps the table', async () => {
    const dir = tmp();
    const train = join(dir, 'train.csv');
    const rows = ['click,purchase,205,D1', ...Array.from({ length: 130 }, (_, i) => `${i % 2},${i % 4 === 0 ? 1 : 0},${i === 7 ? 999999 : i % 5},${(i % 7) / 7}`)];
    writeFileSync(train, `${rows.join('\n')}\n`);
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      await trainCommand({ data: train, out: join(dir, 'a'), epochs: 1, batchSize: 32, backend: 'cpu', ...quiet });
      expect(err.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(/feature "205": its largest id is 999999, so its embedding table has 1000000 rows; .*--max-vocab/);
      err.mockClear();
      await trainCommand({ data: train, out: join(dir, 'b'), epochs: 1, batchSize: 32, backend: 'cpu', maxVocab: 10, ...quiet });
      expect(err.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(/feature "205": table capped at 10 rows by --max-vocab \(largest id 999999\)/);
    } finally {
      err.mockRestore();
    }
    const config = JSON.parse(readFileSync(join(dir, 'b', 'config.json'), 'utf8'));
    expect(config.features.find((f: { name: string }) => f.name === '205').vocabSize).toBe(10);
  });
});

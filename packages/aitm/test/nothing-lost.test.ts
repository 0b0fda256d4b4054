// Nothing lost, nothing silent: outputs never replace a command's inputs or an existing file
// unasked; temporary files go on failure and on SIGTERM; inputs that are not regular files are
// refused at once; impossible model sizes are refused before allocation; column names are
// data; values that would be silently wrong (1e39 as float32, 0x10, a feature that is a label,
// an undefined AUC, purchases without clicks) are refused or said.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { saveCheckpoint } from '@aitm/nn/node';
import {
  buildModel,
  evalCommand,
  exportCommand,
  importCommand,
  parseConfig,
  predictCommand,
  readConfigFile,
  readCsv,
  trainCommand,
  writeRunDir,
} from '../src/node.js';
import { pendingTemporaries, writeAtomic } from '../src/commands/atomic-write.js';
import { memoryLimitOf } from '../src/commands/model-source.js';
import { totalmem } from 'node:os';

const tmp = () => mkdtempSync(join(tmpdir(), 'aitm-lost-'));
const quiet = { log: () => {}, quiet: true };
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const fx = (p: string) => fileURLToPath(new URL(`./fixtures/torch-rechub/${p}`, import.meta.url));

/** A small labelled CSV (header `header`, ids < 5 in every sparse column, D-columns dense). */
function csv(dir: string, name = 'train.csv', header = 'click,purchase,205,D1', rows = 130): string {
  const cols = header.split(',');
  const lines = [header];
  for (let i = 0; i < rows; i++) {
    lines.push(cols.map((c, j) => (c === 'click' ? i % 2 : c === 'purchase' ? (i % 4 === 1 ? 1 : 0) : c.startsWith('D') ? ((i % 7) / 7).toFixed(3) : (i + j) % 5)).join(','));
  }
  const f = join(dir, name);
  writeFileSync(f, `${lines.join('\n')}\n`);
  return f;
}

async function trained(dir: string, data = csv(dir)): Promise<string> {
  const run = join(dir, 'run');
  await trainCommand({ data, out: run, epochs: 1, batchSize: 32, backend: 'cpu', ...quiet });
  return run;
}

/** Runs `fn` with console.error captured; returns what it printed. */
async function stderrOf(fn: () => Promise<unknown>): Promise<string> {
  const err = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    await fn();
    return err.mock.calls.map((c) => String(c[0])).join('\n');
  } finally {
    err.mockRestore();
  }
}

describe('outputs never destroy inputs', () => {
  it('export --onnx onto the model\'s own files is refused (even with --overwrite), and the model survives', async () => {
    const dir = tmp();
    const run = await trained(dir);
    const weights = readFileSync(join(run, 'model.safetensors'));
    await expect(exportCommand({ modelDir: run, onnx: join(run, 'model.safetensors'), ...quiet })).rejects.toThrow(
      `--onnx ${join(run, 'model.safetensors')}: is an input of this command`,
    );
    // The same file by another spelling, and with --overwrite.
    const other = join(run, '..', 'run', 'config.json');
    await expect(exportCommand({ modelDir: run, onnx: other, overwrite: true, ...quiet })).rejects.toThrow(`--onnx ${other}: is an input of this command`);
    expect(readFileSync(join(run, 'model.safetensors')).equals(weights)).toBe(true);
    expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).model).toBe('aitm');
    expect(readdirSync(run).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('predict --out onto its input CSV (through a symlink) is refused; an existing file needs --overwrite', async () => {
    const dir = tmp();
    const data = csv(dir);
    const run = await trained(dir, data);
    const before = readFileSync(data, 'utf8');
    const link = join(dir, 'link.csv');
    symlinkSync(data, link);
    await expect(predictCommand({ modelDir: run, data, out: link, overwrite: true, backend: 'cpu' })).rejects.toThrow(`--out ${link}: is an input of this command (${data})`);
    expect(readFileSync(data, 'utf8')).toBe(before);
    const out = join(dir, 'p.csv');
    writeFileSync(out, 'keep me\n');
    await expect(predictCommand({ modelDir: run, data, out, backend: 'cpu' })).rejects.toThrow(`--out ${out}: already exists; pass --overwrite to replace it`);
    expect(readFileSync(out, 'utf8')).toBe('keep me\n');
    await predictCommand({ modelDir: run, data, out, overwrite: true, backend: 'cpu' });
    expect(readFileSync(out, 'utf8').split('\n')[0]).toBe('click,purchase');
  });

  it('train --out --overwrite on a folder holding its data is refused', async () => {
    const dir = tmp();
    const run = join(dir, 'run');
    mkdirSync(run);
    const data = csv(run);
    await expect(trainCommand({ data, out: run, overwrite: true, epochs: 1, backend: 'cpu', ...quiet })).rejects.toThrow(`--out ${run}: holds ${data}, an input of this command`);
    expect(existsSync(data)).toBe(true);
  });
});

describe('temporary files', () => {
  it('a write leaves no temporary path registered and no signal handler installed', () => {
    const before = process.listenerCount('SIGTERM');
    const f = join(tmp(), 'x.txt');
    writeAtomic(f, 'hello');
    expect(readFileSync(f, 'utf8')).toBe('hello');
    expect(pendingTemporaries()).toEqual([]);
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });

  it('a run folder registers its staging folder and lock while it is written, and only then', async () => {
    const out = join(tmp(), 'run');
    let during: string[] = [];
    await writeRunDir(out, {}, async (stage) => {
      during = pendingTemporaries();
      writeAtomic(join(stage, 'a.txt'), 'a');
    });
    expect(during.some((p) => p.includes('run.staging-'))).toBe(true);
    expect(during.some((p) => p.endsWith('run.lock'))).toBe(true);
    expect(pendingTemporaries()).toEqual([]);
  });

  const waitFor = async (test: () => boolean): Promise<boolean> => {
    for (let i = 0; i < 3000 && !test(); i++) await new Promise((r) => setTimeout(r, 10));
    return test();
  };
  const exitOf = (child: ReturnType<typeof spawn>) => new Promise<number | null>((r) => child.once('exit', (code) => r(code)));

  it.runIf(existsSync(cli))('SIGTERM while train runs removes its staging folder and lock; exit code 143', async () => {
    const parent = tmp();
    const out = join(parent, 'run');
    const child = spawn(process.execPath, [cli, 'train', '--rows', '200000', '--epochs', '5', '--backend', 'cpu', '--out', out, '--quiet'], { stdio: 'ignore' });
    const exited = exitOf(child);
    expect(await waitFor(() => readdirSync(parent).some((f) => f.startsWith('run.staging-')))).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(readdirSync(parent)).toEqual([]);
  }, 120_000);

  it.runIf(existsSync(cli))('SIGTERM while export writes removes its temporary file; exit code 143', async () => {
    const dir = tmp();
    // A 32 MB model (1M x 8 table), so the export takes a while after its temporary file exists.
    const run = join(dir, 'big');
    mkdirSync(run);
    const config = parseConfig({
      model: 'sharedbottom',
      labels: ['click', 'purchase'],
      features: [{ name: 'item', type: 'sparse', vocabSize: 1_000_000, embedDim: 8 }],
      bottom: { dims: [8] },
      towers: [{ dims: [4] }, { dims: [4] }],
    });
    const model = buildModel(config);
    await saveCheckpoint(model, join(run, 'model.safetensors'));
    model.dispose();
    writeFileSync(join(run, 'config.json'), JSON.stringify(config));
    const onnx = join(dir, 'model.onnx');
    const child = spawn(process.execPath, [cli, 'export', '--model-dir', run, '--onnx', onnx], { stdio: 'ignore' });
    const exited = exitOf(child);
    const temp = () => readdirSync(dir).some((f) => f.startsWith('model.onnx.tmp-'));
    expect(await waitFor(temp)).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(readdirSync(dir).sort()).toEqual(['big']);
  }, 120_000);
});

describe('inputs that are not regular files are refused at once, naming them', () => {
  it('a directory, /dev/zero, /dev/urandom and a FIFO as --data', async () => {
    const dir = tmp();
    const out = join(dir, 'run');
    await expect(trainCommand({ data: dir, out, backend: 'cpu', ...quiet })).rejects.toThrow(`--data ${dir}: is a directory, not a regular file`);
    await expect(trainCommand({ data: '/dev/zero', out, backend: 'cpu', ...quiet })).rejects.toThrow('--data /dev/zero: is a character device, not a regular file');
    await expect(readCsv('/dev/urandom')).rejects.toThrow('CSV file /dev/urandom: is a character device, not a regular file');
    const fifo = join(dir, 'pipe.csv');
    execFileSync('mkfifo', [fifo]);
    await expect(trainCommand({ data: fifo, out, backend: 'cpu', ...quiet })).rejects.toThrow(`--data ${fifo}: is a FIFO (named pipe), not a regular file`);
    await expect(trainCommand({ data: csv(dir), val: fifo, out, backend: 'cpu', ...quiet })).rejects.toThrow(`--val ${fifo}: is a FIFO`);
    expect(existsSync(out)).toBe(false);
  });

  it('--config, --checkpoint and a model dir\'s files', async () => {
    const dir = tmp();
    expect(() => readConfigFile(dir)).toThrow(`config ${dir}: is a directory, not a regular file`);
    await expect(evalCommand({ checkpoint: '/dev/zero', data: csv(dir), backend: 'cpu', log: () => {} })).rejects.toThrow('--checkpoint /dev/zero: is a character device');
    const run = join(dir, 'model');
    mkdirSync(join(run, 'config.json'), { recursive: true });
    writeFileSync(join(run, 'model.safetensors'), '');
    await expect(evalCommand({ modelDir: run, data: csv(dir), backend: 'cpu', log: () => {} })).rejects.toThrow(`model dir file ${join(run, 'config.json')}: is a directory`);
  });
});

describe('model sizes are checked before anything is allocated', () => {
  const config = (vocabSize: number, embedDim: number) => ({
    model: 'aitm',
    labels: ['click', 'purchase'],
    features: [
      { name: '205', type: 'sparse', vocabSize, embedDim },
      { name: 'D1', type: 'dense' },
    ],
    bottom: { dims: [16] },
    towers: [{ dims: [8] }, { dims: [8] }],
  });

  it('a vocabulary of 1e9 or an embedding dim of 1e7 in a config is refused with the figure, the limit and the table', async () => {
    const dir = tmp();
    const data = csv(dir);
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(config(1e9, 64)));
    await expect(trainCommand({ config: file, data, out: join(dir, 'a'), backend: 'cpu', ...quiet })).rejects.toThrow(
      /model too large: the embedding table of feature "205" has 1000000000 rows x 64 .*lower vocabSize or embedDim in .*config\.json/,
    );
    writeFileSync(file, JSON.stringify(config(10, 1e7)));
    await expect(trainCommand({ config: file, data, out: join(dir, 'b'), backend: 'cpu', maxMemory: 1, ...quiet })).rejects.toThrow(
      /model too large: aitm with about \d+ parameters needs about [\d.]+ GiB to train .*over the limit of 1\.0 GiB; largest embedding tables: "205" 10 x 10000000/,
    );
    expect(existsSync(join(dir, 'a'))).toBe(false);
  });

  it('buildModel refuses above its limit (4 GiB by default); the CLI default is half the machine\'s memory', () => {
    expect(() => buildModel(parseConfig(config(1e8, 4)))).toThrow(/needs about 6\.0 GiB to train .*over the limit of 4\.0 GiB/);
    expect(memoryLimitOf()).toBe(Math.floor(totalmem() / 2));
    expect(memoryLimitOf(2)).toBe(2 * 2 ** 30);
  });

  it('an id of 2^31-1 names the column and --max-vocab, which makes it work', async () => {
    const dir = tmp();
    const data = csv(dir);
    const lines = readFileSync(data, 'utf8').split('\n');
    lines[2] = '1,0,2147483647,0.5';
    writeFileSync(data, lines.join('\n'));
    const err = await stderrOf(() =>
      expect(trainCommand({ data, out: join(dir, 'a'), epochs: 1, backend: 'cpu', ...quiet })).rejects.toThrow(/feature "205" has 2147483648 rows .*--max-vocab N/),
    );
    expect(err).toMatch(/feature "205": its largest id is 2147483647/);
    await stderrOf(() => trainCommand({ data, out: join(dir, 'b'), epochs: 1, batchSize: 32, backend: 'cpu', maxVocab: 10, ...quiet }));
    expect(existsSync(join(dir, 'b', 'model.safetensors'))).toBe(true);
  });
});

describe('column names are data, never object keys', () => {
  it('__proto__, constructor, toString and hasOwnProperty work as features through train, eval, predict and export', async () => {
    const dir = tmp();
    const header = 'click,purchase,__proto__,constructor,toString,hasOwnProperty,D1';
    const data = csv(dir, 'train.csv', header);
    const { oovRemaps } = await readCsv(data, { vocab: { __proto__: 2, constructor: 3 } as unknown as Record<string, number> });
    expect(Object.keys(oovRemaps).sort()).toEqual(['__proto__', 'constructor', 'hasOwnProperty', 'toString']);
    const run = await trained(dir, data);
    const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
    expect(config.features.map((f: { name: string; vocabSize?: number }) => [f.name, f.vocabSize])).toEqual([
      ['__proto__', 5],
      ['constructor', 5],
      ['toString', 5],
      ['hasOwnProperty', 5],
      ['D1', undefined],
    ]);
    const metrics = await evalCommand({ modelDir: run, data, backend: 'cpu', log: () => {} });
    expect(metrics.auc.every(Number.isFinite)).toBe(true);
    await predictCommand({ modelDir: run, data, out: join(dir, 'p.csv'), backend: 'cpu' });
    expect(readFileSync(join(dir, 'p.csv'), 'utf8').trim().split('\n')).toHaveLength(131);
    await exportCommand({ modelDir: run, onnx: join(dir, 'm.onnx'), ...quiet });
    expect(existsSync(join(dir, 'm.onnx'))).toBe(true);
  });
});

describe('meaning, not only syntax', () => {
  const write = (text: string): string => {
    const f = join(tmp(), 'd.csv');
    writeFileSync(f, text);
    return f;
  };

  it('a dense value beyond float32, and hex in dense and label columns, are refused with file:line:column', async () => {
    await expect(readCsv(write('click,purchase,205,D1\n0,0,1,0.5\n0,0,1,1e39\n'))).rejects.toThrow(/d\.csv:3:4: dense column "D1": "1e39" is beyond float32's range/);
    await expect(readCsv(write('click,purchase,205,D1\n0,0,1,0x10\n'))).rejects.toThrow(/d\.csv:2:4: dense column "D1": "0x10" is not a decimal number/);
    await expect(readCsv(write('click,purchase,205,D1\n0,0x1,1,0.5\n'))).rejects.toThrow(/d\.csv:2:2: label column "purchase" must be 0 or 1, got "0x1"/);
    const ok = await readCsv(write('click,purchase,205,D1\n1.0,0,1,-3.4e38\n'));
    expect(ok.data.dense[0]![0]).toBeCloseTo(-3.4e38, -33);
  });

  it('a feature that is also a label, or a label named twice, is refused in a config and in an import', async () => {
    const base = { model: 'sharedbottom', bottom: { dims: [8] }, towers: [{ dims: [4] }, { dims: [4] }] };
    expect(() => parseConfig({ ...base, labels: ['click', 'purchase'], features: [{ name: 'click', type: 'dense' }] })).toThrow(
      "config: features[0].name: 'click' is a label: a model must not read its own target as an input feature",
    );
    expect(() => parseConfig({ ...base, labels: ['click', 'click'], features: [{ name: 'D1', type: 'dense' }] })).toThrow(
      'config: labels: "click" is named twice: the model would train two identical tasks',
    );
    const out = join(tmp(), 'imported');
    const opts = { checkpoint: fx('aitm_bn.pth'), data: fx('data.csv'), out, dense: ['D1', 'D2'], ...quiet };
    await expect(importCommand({ ...opts, labels: ['user', 'purchase'] })).rejects.toThrow(
      "aitm import: the embedding 'embedding.embed_dict.user.weight' is named like the label column 'user'",
    );
    await expect(importCommand({ ...opts, labels: ['click', 'click'] })).rejects.toThrow("aitm import: --labels names 'click' twice");
  });

  it('an undefined AUC is printed as such, with why', async () => {
    const dir = tmp();
    const run = await trained(dir);
    const data = write(`click,purchase,205,D1\n${Array.from({ length: 20 }, (_, i) => `${i % 2},0,${i % 5},0.5`).join('\n')}\n`);
    const lines: string[] = [];
    const err = await stderrOf(() => evalCommand({ modelDir: run, data, backend: 'cpu', log: (l) => lines.push(l) }));
    expect(lines[1]).toMatch(/^purchase: AUC undefined, logloss/);
    expect(err).toContain(`purchase: AUC undefined: no positive labels in ${data} (0 of 20 rows)`);
  });

  it('purchases without clicks are counted on stderr (a warning, not an error)', async () => {
    const dir = tmp();
    const run = await trained(dir);
    const data = write('click,purchase,205,D1\n0,1,1,0.5\n1,1,2,0.5\n0,0,3,0.5\n0,1,4,0.5\n');
    const err = await stderrOf(() => evalCommand({ modelDir: run, data, backend: 'cpu', log: () => {} }));
    expect(err).toContain(`data: ${data}: 2 of 4 rows have purchase=1 but click=0`);
  });
});

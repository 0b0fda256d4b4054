// Files larger than memory: the index pass, block reads, the windowed seeded shuffle (every
// row exactly once per epoch, reproducible, bounded), a file changed under the reader, the
// byte parser against Number(), and predictions of the streamed path against the in-memory one.

import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from '@aitm/tensor';
import { concatDatasets, shuffledIndexBatches, sliceRows, type Dataset } from '../src/data/batch.js';
import { readCsv, readCsvChunks } from '../src/data/csv.js';
import { Rng } from '../src/data/rng.js';
import { csvSource, indexCsv, memorySource, shuffledEpoch, sourceBlocks, splitOfRow, type EpochStats, type RowSource } from '../src/data/stream.js';
import { schemaOf } from '../src/config.js';
import { readForModel } from '../src/commands/data.js';
import { loadModel } from '../src/commands/model-source.js';
import { predict } from '../src/train/evaluate.js';
import { predictCommand, trainCommand } from '../src/node.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const ali = (split: string) => here(`../data/ali-ccp/ali_ccp_${split}_sample.csv`);
const tmp = mkdtempSync(join(tmpdir(), 'aitm-stream-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let fileNo = 0;
function tmpCsv(text: string): string {
  const p = join(tmp, `s${fileNo++}.csv`);
  writeFileSync(p, text);
  return p;
}

/** A file whose sparse column "id" is the row number (so every row can be told apart). */
function numberedCsv(rows: number): string {
  const lines = ['click,purchase,id,205,D1'];
  for (let r = 0; r < rows; r++) lines.push(`${r % 3 === 0 ? 1 : 0},0,${r},${r % 17},${(r % 100) / 100}`);
  return tmpCsv(`${lines.join('\n')}\n`);
}

async function epochIds(src: RowSource, batch: number, seed: number, window: number, stats?: EpochStats): Promise<{ ids: number[]; sizes: number[] }> {
  const ids: number[] = [];
  const sizes: number[] = [];
  const idCol = src.schema.features.filter((f) => f.type === 'sparse').findIndex((f) => f.name === 'id');
  for await (const { data, rows } of shuffledEpoch(src, batch, new Rng(seed), window, stats)) {
    sizes.push(rows.length);
    for (const r of rows) ids.push(data.sparse[idCol]![r]!);
  }
  return { ids, sizes };
}

describe('streamed epochs', () => {
  it('see every row exactly once, in full batches but the last, holding at most a window + a block + a batch', async () => {
    const file = numberedCsv(1000);
    const ix = await indexCsv(file, { blockRows: 64 });
    expect(ix.rows).toBe(1000);
    expect(ix.blocks).toHaveLength(16);
    const src = csvSource(ix, {});
    for (const seed of [1, 2]) {
      const stats: EpochStats = { peakRows: 0 };
      const { ids, sizes } = await epochIds(src, 32, seed, 200, stats);
      expect([...ids].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
      expect(sizes.slice(0, -1).every((s) => s === 32)).toBe(true);
      expect(sizes.at(-1)).toBe(1000 % 32);
      // The bound the memory claim rests on (a counter, not the process's RSS).
      expect(stats.peakRows).toBeGreaterThanOrEqual(200);
      expect(stats.peakRows).toBeLessThanOrEqual(200 + 64 + 32);
    }
  });

  it('are reproducible for a seed, differ between seeds, and mix rows from across the file', async () => {
    const src = csvSource(await indexCsv(numberedCsv(1000), { blockRows: 50 }), {});
    const a = await epochIds(src, 25, 7, 200);
    const b = await epochIds(src, 25, 7, 200);
    const c = await epochIds(src, 25, 8, 200);
    expect(a.ids).toEqual(b.ids);
    expect(a.ids).not.toEqual(c.ids);
    // The first window draws its blocks from anywhere, not just the file's start.
    expect(Math.max(...a.ids.slice(0, 150))).toBeGreaterThan(300);
  });

  it('of a source no bigger than the window are the in-memory epoch (one permutation of all rows)', async () => {
    const file = numberedCsv(300);
    const whole = (await readCsv(file)).data;
    const src = csvSource(await indexCsv(file, { blockRows: 64 }), {});
    const got = await epochIds(src, 32, 5, 300);
    const want: number[] = [];
    for (const rows of shuffledIndexBatches(whole.n, 32, new Rng(5))) for (const r of rows) want.push(whole.sparse[0]![r]!);
    expect(got.ids).toEqual(want);
    // and a memory source shuffles the same way
    expect((await epochIds(memorySource(whole, 'mem', 64), 32, 5, 300)).ids).toEqual(want);
  });

  it('split a file into train / val / test by a seeded hash: disjoint, complete, about 80/10/10', async () => {
    const file = numberedCsv(2000);
    const ix = await indexCsv(file, { blockRows: 128 });
    const seen: number[] = [];
    const sizes: Record<string, number> = {};
    for (const name of ['train', 'val', 'test'] as const) {
      const src = csvSource(ix, {}, { seed: 3, name, parts: ['val', 'test'] });
      let n = 0;
      for await (const b of sourceBlocks(src)) {
        for (let i = 0; i < b.n; i++) {
          const id = b.sparse[0]![i]!;
          expect(splitOfRow(3, id)).toBe(name);
          seen.push(id);
        }
        n += b.n;
      }
      expect(n).toBe(src.n);
      sizes[name] = n;
    }
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(sizes.val).toBeGreaterThan(140);
    expect(sizes.val).toBeLessThan(260);
    expect(sizes.test).toBeGreaterThan(140);
    expect(sizes.test).toBeLessThan(260);
    // With only a test split to make, the val tenth stays in train.
    for (let r = 0; r < 200; r++) expect(splitOfRow(3, r, ['test'])).toBe(splitOfRow(3, r) === 'val' ? 'test' : 'train');
  });
});

describe('the index and block reads', () => {
  it('blocks read from their offsets are the rows of one whole read (CRLF, blank lines and a BOM too)', async () => {
    const lines = ['\uFEFFclick,purchase,id,D1'];
    for (let r = 0; r < 500; r++) lines.push(r % 50 === 7 ? '' : `0,0,${r},0.${r}`);
    const file = tmpCsv(`${lines.join('\r\n')}\r\n`);
    const whole = (await readCsv(file)).data;
    const ix = await indexCsv(file, { blockRows: 37 });
    expect(ix.rows).toBe(whole.n);
    const parts: Dataset[] = [];
    for await (const b of sourceBlocks(csvSource(ix, {}))) parts.push(b);
    const joined = concatDatasets(parts);
    expect(joined.sparse).toEqual(whole.sparse);
    expect(joined.dense).toEqual(whole.dense);
    // a block's first line is its file line: an error inside names the right line
    const third = ix.blocks[2]!;
    const chunks = [];
    for await (const c of readCsvChunks(file, { start: { offset: third.offset, line: third.line }, maxRows: 3 })) chunks.push(c);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.firstLine).toBe(third.line);
    expect(Array.from(chunks[0]!.data.sparse[0]!)).toEqual(Array.from(sliceRows(whole, third.firstRow, third.firstRow + 3).sparse[0]!));
  });

  it('counts ids past given vocabulary sizes and rows against the tasks order, as a whole read does', async () => {
    const file = tmpCsv('click,purchase,205,206\n0,1,5,1\n1,1,50,2\n0,0,500,3\n0,1,7,90\n');
    const ix = await indexCsv(file, { limits: { 205: 10 }, cap: 50 });
    expect(ix.vocab).toEqual({ 205: 501, 206: 91 });
    expect(ix.oov).toEqual({ 205: 2, 206: 1 });
    expect(ix.sequence).toEqual([2]);
  });

  it('a file changed after its index is refused by name, not read as other rows', async () => {
    const file = numberedCsv(200);
    const ix = await indexCsv(file, { blockRows: 64 });
    const src = csvSource(ix, {});
    await src.block(1);
    appendFileSync(file, '0,0,999,1,0.5\n');
    await expect(src.block(1)).rejects.toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the file changed while it was being read`));
  });

  it('a truncated file is refused naming the file and line', async () => {
    const file = numberedCsv(200);
    const ix = await indexCsv(file, { blockRows: 64 });
    const src = csvSource({ ...ix, size: 1, mtimeMs: 0 }, {});
    await expect(src.block(0)).rejects.toThrow(/the file changed/);
    // Same size and time, fewer rows (as if rewritten in place): the row count gives it away.
    const short = csvSource({ ...ix, blocks: [{ ...ix.blocks.at(-1)!, rows: 1000 }] }, {});
    await expect(short.block(0)).rejects.toThrow(new RegExp(`s\\d+\\.csv:${ix.blocks.at(-1)!.line}: expected 1000 rows from here`));
  });
});

describe('the byte parser', () => {
  it('reads every accepted form as Number() does (float32), and refuses what the string path refuses', async () => {
    const dense = ['0', '0.0', '-0.5', '.5', '1.', '0.11914000000000001', '3.4028234e38', '1e-3', ' 2 ', '123456789012345', '1234567890123456789', '-0', '0.4734', '7.00000000000000000001'];
    const ids = ['0', '3', '3.0', '2147483647', '0012', ' 4 '];
    const lines = ['click,purchase,id,D1'];
    for (let i = 0; i < dense.length; i++) lines.push(`${i % 2 === 0 ? '1.0' : '0'},0,${ids[i % ids.length]},${dense[i]}`);
    const { data } = await readCsv(tmpCsv(`${lines.join('\n')}\n`));
    expect(Array.from(data.dense[0]!)).toEqual(dense.map((d) => Math.fround(Number(d))));
    expect(Array.from(data.sparse[0]!)).toEqual(dense.map((_, i) => Math.trunc(Number(ids[i % ids.length]))));
    expect(Array.from(data.labels[0]!)).toEqual(dense.map((_, i) => (i % 2 === 0 ? 1 : 0)));
    await expect(readCsv(tmpCsv('click,purchase,id,D1\n0,0,1,0x10\n'))).rejects.toThrow(/s\d+\.csv:2:4: dense column "D1": "0x10" is not a decimal number/);
    await expect(readCsv(tmpCsv('click,purchase,id,D1\n0,0,1,1.2.3\n'))).rejects.toThrow(/s\d+\.csv:2:4: dense column "D1": not a finite number: "1.2.3"/);
    await expect(readCsv(tmpCsv('click,purchase,id,D1\n0,0,1,0.5\n2,0,1,0.5\n'))).rejects.toThrow(/s\d+\.csv:3:1: label column "click" must be 0 or 1, got "2"/);
    await expect(readCsv(tmpCsv('click,purchase,id,D1\n0,0,1,0.5\n0,0,1\n'))).rejects.toThrow(/s\d+\.csv:3: expected 4 fields \(as in the header\), got 3/);
    await expect(readCsv(tmpCsv('click,purchase,id,D1\n0,0,1,"0.5"\n'))).rejects.toThrow(/s\d+\.csv:2: quoted fields are not supported/);
    await expect(readCsv(tmpCsv('click,purchase,id,D1\n0,0,-1,0.5\n'))).rejects.toThrow(/s\d+\.csv:2:3: sparse column "id": negative id/);
  });
});

describe('predictions of the streamed path', () => {
  it('are those of the in-memory path on the Ali-CCP samples, block by block and in predict\'s file', async () => {
    const out = join(tmp, 'run');
    await trainCommand({ data: ali('train'), val: ali('val'), test: ali('test'), epochs: 1, batchSize: 32, backend: 'cpu', out, log: () => {}, quiet: true });
    const backend = await initBackend({ backend: 'cpu' });
    const { config, model } = await loadModel({ modelDir: out }, ali('test'), () => {});
    for (const split of ['test', 'train']) {
      // The old path: the whole file in memory, one predict, the lines joined.
      const ds = (await readCsv(ali(split), { schema: schemaOf(config) })).data;
      const whole = await predict(model, ds, { backend });
      const lines = [config.labels.join(',')];
      for (let i = 0; i < ds.n; i++) lines.push(whole.map((p) => p[i]!.toPrecision(9)).join(','));
      const inMemory = `${lines.join('\n')}\n`;
      // Blocks of 7 rows: the same numbers.
      const parts: Float32Array[][] = [];
      for await (const block of readForModel(config, ali(split), true, false, 7)) parts.push(await predict(model, block, { backend }));
      for (let t = 0; t < whole.length; t++) expect(Array.from(concat(parts.map((p) => p[t]!)))).toEqual(Array.from(whole[t]!));
      // predict's file, written as it goes: byte for byte.
      const predFile = join(tmp, `pred-${split}.csv`);
      await predictCommand({ modelDir: out, data: ali(split), out: predFile, backend: 'cpu' });
      expect(readFileSync(predFile, 'utf8')).toBe(inMemory);
    }
  });

  it('train streams a file bigger than --window-rows (val and test split off by hash) end to end', async () => {
    const out = join(tmp, 'run-streamed');
    const logs: string[] = [];
    const { report } = await trainCommand({ data: ali('train'), epochs: 2, batchSize: 25, windowRows: 40, backend: 'cpu', out, log: (l) => logs.push(l), quiet: true });
    expect(logs.join('\n')).toMatch(/read from the file every epoch, shuffled in windows of 40 rows/);
    expect(report.epochs).toHaveLength(2);
    expect(report.test.auc).toHaveLength(2);
    const m = /(\d+) train \/ (\d+) val \/ (\d+) test rows/.exec(logs.join('\n'))!;
    expect(Number(m[1]) + Number(m[2]) + Number(m[3])).toBe(100);
  });
});

describe('an epoch whose last batch has one row', () => {
  it('trains a BatchNorm model: the one row sits out and says so (torch would raise)', async () => {
    // 100 training rows in batches of 33: 33 + 33 + 33 + 1.
    const out = join(tmp, 'run-one-row');
    const said: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => (said.push(String(chunk)), true)) as typeof process.stderr.write;
    let report;
    try {
      ({ report } = await trainCommand({ data: ali('train'), val: ali('val'), test: ali('test'), epochs: 2, batchSize: 33, backend: 'cpu', out, log: (l) => said.push(l), quiet: false }));
    } finally {
      process.stderr.write = write;
    }
    expect(report.epochs).toHaveLength(2);
    for (const a of report.test.auc) expect(Number.isFinite(a)).toBe(true);
    const lines = said.join('').split('\n').filter((l) => l.includes('the last batch has 1 row'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^epoch 1: .*BatchNorm/);
  });
});

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}


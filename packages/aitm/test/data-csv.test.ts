// Reads the shipped Ali-CCP sample and small temp files: counts, chunking, vocab scan, OOV remaps,
// and every reader error (each must name the file and line).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { concatDatasets, type Dataset } from '../src/data/batch.js';
import { readCsv, readCsvChunks, scanVocab } from '../src/data/csv.js';
import { denseFeatures, sparseFeatures, type DataSchema } from '../src/data/schema.js';

const dir = fileURLToPath(new URL('../data/ali-ccp/', import.meta.url));
const split = (s: string): string => join(dir, `ali_ccp_${s}_sample.csv`);
const files = ['train', 'val', 'test'].map(split);

const tmp = mkdtempSync(join(tmpdir(), 'aitm-csv-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let fileNo = 0;
function tmpCsv(text: string): string {
  const p = join(tmp, `t${fileNo++}.csv`);
  writeFileSync(p, text);
  return p;
}

const sum = (a: Float32Array): number => a.reduce((x, y) => x + y, 0);

function expectSameData(a: Dataset, b: Dataset): void {
  expect(a.n).toBe(b.n);
  expect(a.labels).toEqual(b.labels);
  expect(a.sparse).toEqual(b.sparse);
  expect(a.dense).toEqual(b.dense);
}

describe('Ali-CCP sample', () => {
  it.each([
    ['train', 100, 7, 1],
    ['val', 50, 3, 1],
    ['test', 50, 2, 1],
  ])('%s: %i rows, %i clicks, %i purchases', async (name, rows, clicks, purchases) => {
    const { data } = await readCsv(split(name));
    expect(data.n).toBe(rows);
    expect(data.schema.labels).toEqual(['click', 'purchase']);
    expect(data.labels).toHaveLength(2);
    expect(data.sparse).toHaveLength(23);
    expect(data.dense).toHaveLength(8);
    expect(sum(data.labels[0])).toBe(clicks);
    expect(sum(data.labels[1])).toBe(purchases);
    for (let i = 0; i < data.n; i++) if (data.labels[1][i] === 1) expect(data.labels[0][i]).toBe(1);
  });

  it('infers roles from the header', async () => {
    const { data } = await readCsv(files[0]);
    expect(denseFeatures(data.schema).map((f) => f.name)).toEqual(['D109_14', 'D110_14', 'D127_14', 'D150_14', 'D508', 'D509', 'D702', 'D853']);
    const sparse = sparseFeatures(data.schema);
    expect(sparse.map((f) => f.name)).toContain('109_14');
    expect(sparse.every((f) => f.vocabSize === 'auto' && f.embedDim === 4)).toBe(true);
  });

  it('parses values exactly as a plain split of the text', async () => {
    const { data } = await readCsv(files[0]);
    const lines = readFileSync(files[0], 'utf8').trim().split('\n');
    const header = lines[0].split(',');
    const row7 = lines[8].split(',');
    const at = (name: string): string => row7[header.indexOf(name)];
    const sIdx = sparseFeatures(data.schema).findIndex((f) => f.name === '207');
    const dIdx = denseFeatures(data.schema).findIndex((f) => f.name === 'D508');
    expect(data.sparse[sIdx][7]).toBe(Number(at('207')));
    expect(data.dense[dIdx][7]).toBe(Math.fround(Number(at('D508'))));
    expect(data.labels[0][7]).toBe(Number(at('click')));
  });

  it('chunked streaming gives the same data as one read', async () => {
    for (const path of files) {
      const whole = (await readCsv(path)).data;
      const chunks = [];
      for await (const c of readCsvChunks(path, { chunkRows: 7 })) chunks.push(c);
      expect(chunks.map((c) => c.data.n)).toEqual([...Array(Math.floor(whole.n / 7)).fill(7), whole.n % 7]);
      expect(chunks.map((c) => c.firstLine)).toEqual(chunks.map((_, i) => 2 + 7 * i));
      expectSameData(concatDatasets(chunks.map((c) => c.data)), whole);
    }
  });

  it('scanVocab matches torch-rechub (max id + 1 over train+val+test)', async () => {
    const vocab = await scanVocab(files);
    const special: Record<string, number> = { 205: 120, 206: 55, 207: 140, 210: 158, 216: 82, 508: 34, 509: 23, 702: 24, 853: 27, 126: 1 };
    const names = sparseFeatures((await readCsv(files[0])).data.schema).map((f) => f.name);
    expect(Object.keys(vocab).sort()).toEqual([...names].sort());
    for (const name of names) expect(vocab[name], name).toBe(special[name] ?? 2);
    // A configured schema gives the same result (configured sizes are ignored while scanning).
    const schema: DataSchema = (await readCsv(files[0], { vocab: { 205: 3 } })).data.schema;
    expect(await scanVocab(files, { schema, chunkRows: 9 })).toEqual(vocab);
  });

  it('remaps ids >= vocabSize to 0 and counts them per feature', async () => {
    const raw = (await readCsv(files[1])).data;
    const k = sparseFeatures(raw.schema).findIndex((f) => f.name === '205');
    const expected = raw.sparse[k].filter((id) => id >= 10).length;
    expect(expected).toBeGreaterThan(0);
    const { data, oovRemaps } = await readCsv(files[1], { vocab: { 205: 10 } });
    expect(oovRemaps['205']).toBe(expected);
    expect(oovRemaps['206']).toBe(0);
    expect(sparseFeatures(data.schema)[k].vocabSize).toBe(10);
    for (let i = 0; i < data.n; i++) expect(data.sparse[k][i]).toBe(raw.sparse[k][i] >= 10 ? 0 : raw.sparse[k][i]);
    // Full vocab: nothing is remapped.
    const full = await readCsv(files[1], { vocab: await scanVocab(files) });
    expect(Object.values(full.oovRemaps).every((c) => c === 0)).toBe(true);
  });
});

describe('CSV reader on small files', () => {
  const schema: DataSchema = {
    labels: ['click', 'purchase'],
    features: [
      { name: 'a', type: 'sparse', vocabSize: 5, embedDim: 4 },
      { name: 'Dx', type: 'dense' },
      { name: 'b', type: 'sparse', vocabSize: 'auto', embedDim: 4 },
    ],
  };

  it('handles \\r\\n, a missing final newline, a BOM, blank lines and extra columns', async () => {
    const body = ['click,purchase,a,b,Dx,extra', '1,1,3,7,0.5,zz', '0,0,9,2,1e-3,', '', '1,0,4,100,-2,q'];
    const unix = await readCsv(tmpCsv(body.join('\n') + '\n'), { schema });
    const dos = await readCsv(tmpCsv('\ufeff' + body.join('\r\n')), { schema });
    expectSameData(dos.data, unix.data);
    const d = unix.data;
    expect(d.n).toBe(3);
    expect(Array.from(d.labels[0])).toEqual([1, 0, 1]);
    expect(Array.from(d.labels[1])).toEqual([1, 0, 0]);
    expect(Array.from(d.sparse[0])).toEqual([3, 0, 4]); // 9 >= 5 -> OOV slot
    expect(Array.from(d.sparse[1])).toEqual([7, 2, 100]); // 'auto', no vocab given: unchanged
    expect(Array.from(d.dense[0])).toEqual([0.5, Math.fround(1e-3), -2]);
    expect(unix.oovRemaps).toEqual({ a: 1, b: 0 });
  });

  it('accepts pandas-style "1.0" ints and labels', async () => {
    const { data } = await readCsv(tmpCsv('click,purchase,a,b,Dx\n1.0,0.0,2.0,3,0\n'), { schema });
    expect([data.labels[0][0], data.labels[1][0], data.sparse[0][0]]).toEqual([1, 0, 2]);
  });

  it('yields one empty chunk for a header-only file', async () => {
    const { data } = await readCsv(tmpCsv('click,purchase,a,b,Dx\n'), { schema });
    expect(data.n).toBe(0);
    expect(data.sparse).toHaveLength(2);
  });

  const header = 'click,purchase,a,b,Dx\n';
  it.each([
    ['an empty file', '', /t\d+\.csv: empty file \(no header line\)/],
    ['blank lines only', '\n\r\n', /empty file/],
    ['a missing schema column', 'click,purchase,a,Dx\n0,0,1,0.5\n', /t\d+\.csv:1: column "b" named in the schema is missing from the header/],
    ['a missing label column', 'click,a,b,Dx\n0,1,2,0.5\n', /t\d+\.csv:1: column "purchase" named in the schema is missing/],
    ['a non-numeric id', header + '0,0,1,2,0.1\n0,0,x7,2,0.1\n', /t\d+\.csv:3:\d+: sparse column "a": non-numeric id "x7"/],
    ['an empty id', header + '0,0,1,,0.1\n', /t\d+\.csv:2:\d+: sparse column "b": non-numeric id ""/],
    ['a negative id', header + '0,0,1,-4,0.1\n', /t\d+\.csv:2:\d+: sparse column "b": negative id "-4"/],
    ['a fractional id', header + '0,0,1.5,4,0.1\n', /t\d+\.csv:2:\d+: sparse column "a": id is not an integer: "1.5"/],
    ['a label that is not 0/1', header + '0,0,1,2,0.1\n1,0,1,2,0.1\n2,0,1,2,0.1\n', /t\d+\.csv:4:\d+: label column "click" must be 0 or 1, got "2"/],
    ['an empty label', header + '0,,1,2,0.1\n', /t\d+\.csv:2:\d+: label column "purchase" must be 0 or 1, got ""/],
    ['a non-numeric dense value', header + '0,0,1,2,abc\n', /t\d+\.csv:2:\d+: dense column "Dx": not a finite number: "abc"/],
    ['too few fields', header + '0,0,1,2,0.1\n0,0,1,2\n', /t\d+\.csv:3: expected 5 fields \(as in the header\), got 4/],
    ['too many fields', header + '0,0,1,2,0.1,9\n', /t\d+\.csv:2: expected 5 fields \(as in the header\), got 6/],
    ['a quote character', header + '0,0,"1",2,0.1\n', /t\d+\.csv:2: quoted fields are not supported/],
    ['a duplicate header column', 'click,purchase,a,a,b,Dx\n', /t\d+\.csv:1: duplicate column "a"/],
  ])('rejects %s', async (_what, text, message) => {
    const path = tmpCsv(text);
    await expect(readCsv(path, { schema })).rejects.toThrow(message);
    await expect(readCsv(path, { schema })).rejects.toThrow(path);
  });

  it("reads an unlabelled file with a model's schema when labelsOptional (as aitm predict does), and refuses it without", async () => {
    const path = tmpCsv('a,Dx,b\n1,0.5,2\n3,-1,0\n');
    await expect(readCsv(path, { schema })).rejects.toThrow(/column "click" named in the schema is missing from the header/);
    const { data } = await readCsv(path, { schema, labelsOptional: true });
    expect(data.n).toBe(2);
    expect(data.labels).toEqual([]);
    expect(data.schema.labels).toEqual([]);
    expect(Array.from(data.sparse[0]!)).toEqual([1, 3]);
    // A labelled file is still read with its labels.
    const labelled = await readCsv(tmpCsv('click,purchase,a,Dx,b\n1,0,1,0.5,2\n'), { schema, labelsOptional: true });
    expect(labelled.data.labels.map((c) => Array.from(c))).toEqual([[1], [0]]);
  });

  it('rejects a header without the label columns when inferring', async () => {
    await expect(readCsv(tmpCsv('x,y\n1,2\n'))).rejects.toThrow(/t\d+\.csv:1: .*label column\(s\) click, purchase not in header/);
  });

  it('rejects a missing file and bad options', async () => {
    await expect(readCsv(join(tmp, 'nope.csv'))).rejects.toThrow(/ENOENT/);
    await expect(readCsv(files[0], { chunkRows: 0 })).rejects.toThrow(/chunkRows/);
    await expect(readCsv(files[0], { vocab: { 205: 0 } })).rejects.toThrow(/vocab size for "205"/);
  });
});

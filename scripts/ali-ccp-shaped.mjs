#!/usr/bin/env node
// Writes a seeded CSV shaped like torch-rechub's Ali-CCP files (packages/aitm/data/ali-ccp/):
// the same 33 columns in the same order (click, purchase, 23 sparse id columns, 8 dense columns
// in [0, 1]), sparse ids drawn log-uniformly below each column's vocabulary size, 0 for
// "missing" one time in ten, and clicks and purchases at Ali-CCP's rates (3.9% clicks, 0.55%
// of clicks purchase; never a purchase without a click).
//
//   node scripts/ali-ccp-shaped.mjs --rows 10000000 --out /tmp/ali10m.csv [--seed 1]
//
// Vocabulary sizes: the 18 columns of xidongbo/AITM's public-data preprocessing use the sizes
// of its `vocabulary_size` table (205: 467298 the largest); the five columns torch-rechub
// added (210, 109_14, 110_14, 127_14, 150_14) have no published sizes here and use assumed
// ones (marked below). Only the shape matters for the reader's and the trainer's costs.
import { closeSync, openSync, writeSync } from 'node:fs';

const VOCAB = {
  101: 238635, 121: 98, 122: 14, 124: 3, 125: 8, 126: 4, 127: 4, 128: 3, 129: 5,
  205: 467298, 206: 6929, 207: 263942,
  210: 80000, // assumed
  216: 106399, 508: 5888, 509: 104830, 702: 51878, 853: 37148, 301: 4,
  '109_14': 5000, '110_14': 70000, '127_14': 50000, '150_14': 40000, // assumed
};
const SPARSE = ['101', '121', '122', '124', '125', '126', '127', '128', '129', '205', '206', '207', '210', '216', '508', '509', '702', '853', '301', '109_14', '110_14', '127_14', '150_14'];
const DENSE = ['D109_14', 'D110_14', 'D127_14', 'D150_14', 'D508', 'D509', 'D702', 'D853'];

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const rows = Number(arg('rows', '100000'));
const out = arg('out', undefined);
const seed = Number(arg('seed', '1'));
if (!Number.isInteger(rows) || rows < 0 || out === undefined) {
  console.error('usage: node scripts/ali-ccp-shaped.mjs --rows N --out FILE [--seed S]');
  process.exit(2);
}

// mulberry32: a small seeded generator (the same file for the same seed and row count).
let state = seed >>> 0;
function rand() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const logV = SPARSE.map((c) => Math.log(VOCAB[c]));
const sizes = SPARSE.map((c) => VOCAB[c]);

const fd = openSync(out, 'w');
writeSync(fd, `click,purchase,${SPARSE.join(',')},${DENSE.join(',')}\n`);
const BLOCK = 20000;
let clicks = 0;
let purchases = 0;
for (let start = 0; start < rows; start += BLOCK) {
  const end = Math.min(rows, start + BLOCK);
  let text = '';
  for (let r = start; r < end; r++) {
    const click = rand() < 0.039 ? 1 : 0;
    const purchase = click === 1 && rand() < 0.0055 ? 1 : 0;
    clicks += click;
    purchases += purchase;
    let line = `${click},${purchase}`;
    for (let k = 0; k < SPARSE.length; k++) {
      // log-uniform in [1, V): a few ids are frequent, most are rare; 0 is "missing"
      const id = rand() < 0.1 ? 0 : Math.min(sizes[k] - 1, Math.floor(Math.exp(rand() * logV[k])));
      line += `,${id}`;
    }
    for (let k = 0; k < DENSE.length; k++) {
      const u = rand();
      // min-max normalised counts: many zeros, 4 decimals mostly, now and then a float64 tail
      const v = u < 0.3 ? '0.0' : u < 0.99 ? (Math.round(rand() * 10000) / 10000).toString() : String(rand());
      line += `,${v}`;
    }
    text += `${line}\n`;
  }
  writeSync(fd, text);
}
closeSync(fd);
console.error(`wrote ${out}: ${rows} rows, ${clicks} clicks, ${purchases} purchases (seed ${seed})`);

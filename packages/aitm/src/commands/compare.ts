// `aitm compare`: trains every model (AITM, AITM-AutoInt and the baselines) with `aitm train`'s
// pipeline on the same data and splits, over a few seeds, and tabulates per-task test AUC and
// logloss (mean and std over seeds), the oracle AUC on synthetic data, size and speed.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setBackend, type BackendName } from '@aitm/tensor';
import { buildModel, MODEL_NAMES, parseConfig, type ModelName } from '../config.js';
import type { CompareModelResult, CompareResult, Report } from '../report.js';
import { aucByModel } from '../plots/charts.js';
import { checkOutputFile, makeFolder, writeAtomic } from './atomic-write.js';
import { memoryLimitOf } from './model-source.js';
import { trainCommand, type TrainCommandOptions } from './train.js';

/**
 * Defaults sized so the whole comparison (6 models x 3 seeds on the built-in synthetic data)
 * fits in 10 minutes on a 2-core machine with the WebGPU software adapter: 40k training rows
 * (val and test 6.7k each), 2 epochs, batches of 1024 at lr 0.01 (80 steps per run: half
 * `aitm train`'s batch, for more steps on 10x less data). Measured there, with other jobs
 * sharing the cores, at 1.3-2.8k (aitm-autoint) to 25k (esmm) samples/s. The models end
 * short of convergence: the table ranks them under a small, equal budget.
 */
export const COMPARE_DEFAULTS = { rows: 40_000, epochs: 2, seeds: 3, batchSize: 1024, lr: 0.01 } as const;

export interface CompareOptions {
  /** 'synthetic' (default) or a CSV file; val/test are split from it unless given. */
  data?: string;
  val?: string;
  test?: string;
  /** Seeds 1..seeds (default 3); each seed draws new weights, shuffles and splits (and a new synthetic world). */
  seeds?: number;
  /** Rows of synthetic training data (default 40k). */
  rows?: number;
  /** Changes to the built-in synthetic world, e.g. `{ dependence: 0, purchaseBase: 0.05 }`. */
  synthetic?: TrainCommandOptions['synthetic'];
  /** Epochs per run (default 2; early stopping as in `aitm train`). */
  epochs?: number;
  /** Default 1024. */
  batchSize?: number;
  /** Default 0.01. */
  lr?: number;
  backend?: BackendName;
  /** Which models (default all, in MODEL_NAMES order). */
  models?: ModelName[];
  /** Output folder (default runs/compare-<time>): compare.json, compare.md, and runs/<model>-seed<s>/. */
  out?: string;
  quiet?: boolean;
  log?: (line: string) => void;
  /** GiB a model may take to train (default half the machine's memory); see `aitm train --max-memory`. */
  maxMemory?: number;
  /** The WebGPU atomic scatter-adds (see `aitm train --nondeterministic`); default false. */
  nondeterministic?: boolean;
}

export type { CompareModelResult, CompareResult } from '../report.js';

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: readonly number[]) => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
};
/** Per-task mean (or std) of per-seed vectors. */
const perTask = (runs: readonly number[][], f: (xs: number[]) => number) => runs[0]!.map((_, t) => f(runs.map((r) => r[t]!)));

/** Trainable parameters of the model a run directory's config.json describes (built on the CPU). */
async function paramCount(runDir: string, memoryLimit: number): Promise<number> {
  await setBackend('cpu');
  const model = buildModel(parseConfig(JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8'))), { memoryLimit });
  const n = model.parameters().reduce((s, p) => s + p.size, 0);
  model.dispose();
  return n;
}

/** The results as a Markdown table (also what the command prints). */
export function compareTable(r: CompareResult): string {
  const f4 = (x: number) => x.toFixed(4);
  const head = ['model', ...r.labels.map((l) => `${l} AUC`), ...r.labels.map((l) => `${l} logloss`), 'params', 'samples/s'];
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const lines = [row(head), row(head.map((_, i) => (i === 0 ? '---' : '---:')))];
  for (const m of r.models) {
    lines.push(
      row([
        m.model,
        ...m.auc.map((a, t) => `${f4(a)} ± ${f4(m.aucStd[t]!)}`),
        ...m.logloss.map((l, t) => `${f4(l)} ± ${f4(m.loglossStd[t]!)}`),
        String(m.params),
        String(Math.round(m.samplesPerSecond)),
      ]),
    );
  }
  if (r.oracleAuc) lines.push(row(['oracle', ...r.oracleAuc.map(f4), ...r.labels.map(() => ''), '', '']));
  return lines.join('\n');
}

/**
 * `aitm compare`: trains each model once per seed and writes DIR/compare.json
 * (`{"oracleAuc", "models": [{"model", "auc", "aucStd", "logloss", "params", "samplesPerSecond", ...}], ...}`)
 * DIR/compare.md and DIR/auc-by-model.svg. Every model sees the same data and splits for a given seed.
 */
export async function compareCommand(opts: CompareOptions = {}): Promise<{ result: CompareResult; outDir: string }> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const data = opts.data ?? 'synthetic';
  const synthetic = data === 'synthetic';
  const seeds = opts.seeds ?? COMPARE_DEFAULTS.seeds;
  const epochs = opts.epochs ?? COMPARE_DEFAULTS.epochs;
  const rows = opts.rows ?? COMPARE_DEFAULTS.rows;
  if (!Number.isInteger(seeds) || seeds < 1) throw new Error(`compare: seeds must be a positive integer, got ${seeds}`);
  const models = opts.models ?? [...MODEL_NAMES];
  for (const m of models) if (!MODEL_NAMES.includes(m)) throw new Error(`compare: unknown model '${m}' (known: ${MODEL_NAMES.join(', ')})`);
  const outDir = opts.out ?? join('runs', `compare-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`);
  makeFolder(outDir, '--out');
  // compare.json, compare.md and the plot are its own outputs (replaced by a rerun), never its inputs.
  const files = ['compare.json', 'compare.md', 'auc-by-model.svg'].map((f) => join(outDir, f));
  for (const f of files) checkOutputFile(f, { flag: '--out', inputs: [opts.data, opts.val, opts.test], overwrite: true });
  log(`compare: ${models.join(', ')} on ${synthetic ? `synthetic data (${rows} train rows)` : data}, ${epochs} epoch(s), seeds 1..${seeds}`);

  const results: CompareModelResult[] = [];
  const oracles: number[][] = [];
  let labels: readonly string[] = [];
  let backend: BackendName | null = null;
  for (const model of models) {
    const reports: Report[] = [];
    let runDir = '';
    for (let seed = 1; seed <= seeds; seed++) {
      runDir = join(outDir, 'runs', `${model}-seed${seed}`);
      const { report } = await trainCommand({
        data,
        ...(opts.val !== undefined && { val: opts.val }),
        ...(opts.test !== undefined && { test: opts.test }),
        batchSize: opts.batchSize ?? COMPARE_DEFAULTS.batchSize,
        lr: opts.lr ?? COMPARE_DEFAULTS.lr,
        ...(opts.backend !== undefined && { backend: opts.backend }),
        ...(opts.maxMemory !== undefined && { maxMemory: opts.maxMemory }),
        ...(opts.nondeterministic && { nondeterministic: true }),
        ...(synthetic && { syntheticRows: rows }),
        ...(synthetic && opts.synthetic && { synthetic: opts.synthetic }),
        model,
        epochs,
        seed,
        out: runDir,
        quiet: true,
        log: () => {},
      });
      reports.push(report);
      labels = report.labels;
      backend = report.backend;
      // The data (and its oracle) depend on the seed only, so the first model's are everyone's.
      if (report.oracleAuc && results.length === 0) oracles.push(report.oracleAuc);
      log(`  ${model} seed ${seed}: test AUC ${report.test.auc.map((a) => a.toFixed(4)).join(' / ')}, ${Math.round(report.samplesPerSecond)} samples/s`);
    }
    const aucs = reports.map((r) => r.test.auc);
    const lls = reports.map((r) => r.test.logloss);
    results.push({
      model,
      auc: perTask(aucs, mean),
      aucStd: perTask(aucs, std),
      logloss: perTask(lls, mean),
      loglossStd: perTask(lls, std),
      params: await paramCount(runDir, memoryLimitOf(opts.maxMemory)),
      samplesPerSecond: mean(reports.map((r) => r.samplesPerSecond)),
    });
  }
  const result: CompareResult = {
    oracleAuc: oracles.length > 0 ? perTask(oracles, mean) : null,
    models: results,
    labels,
    data,
    seeds,
    epochs,
    rows: synthetic ? rows : null,
    backend,
  };
  const table = compareTable(result);
  const what = synthetic ? `synthetic data, ${rows} training rows` : `\`${data}\``;
  const md = [
    '# aitm compare',
    '',
    `Test AUC and logloss, mean ± std over ${seeds} seed(s); ${what}; ${epochs} epoch(s); backend ${backend ?? '?'}.`,
    'Non-AITM models train on the plain sum of BCEs; ESMM\'s second column is pCTCVR = pCTR * pCVR.',
    '',
    table,
    '',
  ].join('\n');
  writeAtomic(files[0]!, `${JSON.stringify(result, null, 2)}\n`);
  writeAtomic(files[1]!, md);
  writeAtomic(files[2]!, aucByModel(result));
  log('');
  log(table);
  log(`wrote ${join(outDir, 'compare.json')}, compare.md and auc-by-model.svg`);
  return { result, outDir };
}

// `aitm compare`: trains every model (AITM, AITM-AutoInt and the baselines) with `aitm train`'s
// pipeline on the same data, splits and initialisation seeds, over a few seeds, each run to
// convergence (early stopping on validation), and tabulates per-task test AUC (mean and
// standard error over seeds), each model's paired difference from AITM with its standard error
// and seeds won, which differences are within noise, the seeds a 0.005 difference needs, the
// oracle AUC on synthetic data, logloss, size and speed.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setBackend, type BackendName } from '@aitm/tensor';
import { buildModel, MODEL_NAMES, parseConfig, type ModelName } from '../config.js';
import type { CompareModelResult, CompareResult, Report } from '../report.js';
import { aucByModel } from '../plots/charts.js';
import { checkOutputFile, makeFolder, writeAtomic } from './atomic-write.js';
import { memoryLimitOf } from './model-source.js';
import { syntheticWorld } from './data.js';
import type { WorldName } from '../data/builtin.js';
import { trainCommand, type TrainCommandOptions } from './train.js';

/**
 * Defaults: 3 seeds of 40k synthetic training rows (val and test 6.7k each), batches of 1024 at
 * lr 0.01, and up to 30 epochs with early stopping on the validation AUC sum (patience 2, the
 * best epoch's weights kept): each model trains until it stops improving, not for a fixed short
 * budget, so the table compares converged models. Most runs stop within 4 to 12 epochs.
 */
export const COMPARE_DEFAULTS = { rows: 40_000, epochs: 30, seeds: 3, batchSize: 1024, lr: 0.01 } as const;

/** The AUC difference `seedsFor005` is sized for. */
export const RESOLVE_DIFF = 0.005;

/** Options of the `compare` command: models, seeds, data, epochs, output folder. */
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
  /** Most epochs per run (default 30); early stopping on validation (patience 2) ends most runs before. */
  epochs?: number;
  /** The synthetic world's preset (default 'default', 2 tasks); models that cannot have its task count are skipped. */
  world?: WorldName;
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
  /** Where progress lines go (default: stdout). */
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

/**
 * Seeds needed for a paired difference of `RESOLVE_DIFF` (0.005) to stand out: n =
 * ceil((2 * 1.96 * sd / 0.005)^2), sd the standard deviation of the per-seed differences, i.e.
 * the seeds at which the 95% interval of the mean difference (± 1.96 sd / sqrt(n)) is at most
 * ± 0.0025, half the difference. Null with one seed (no spread to measure).
 */
export function seedsToResolve(sd: number, seeds: number, diff = RESOLVE_DIFF): number | null {
  if (seeds < 2 || !Number.isFinite(sd)) return null;
  return Math.max(2, Math.ceil(((2 * 1.96 * sd) / diff) ** 2));
}

/** Paired statistics of `runs` against `ref` (per seed, per task AUCs; same seeds). */
function paired(runs: readonly number[][], ref: readonly number[][]): NonNullable<CompareModelResult['vsReference']> {
  const n = runs.length;
  const d = runs.map((r, s) => r.map((a, t) => a - ref[s]![t]!));
  const sds = perTask(d, std);
  return {
    diff: perTask(d, mean),
    se: sds.map((x) => x / Math.sqrt(n)),
    wins: runs[0]!.map((_, t) => d.filter((x) => x[t]! > 0).length),
    seedsFor005: sds.map((x) => seedsToResolve(x, n)),
  };
}

/** Whether a paired difference is within noise: |diff| < 2 SE (always, with one seed). */
export function withinNoise(diff: number, se: number, seeds: number): boolean {
  return seeds < 2 || !(Math.abs(diff) >= 2 * se);
}

const f4 = (x: number) => x.toFixed(4);
const signed = (x: number) => `${x >= 0 ? '+' : '\u2212'}${Math.abs(x).toFixed(4)}`;
const row = (cells: string[]) => `| ${cells.join(' | ')} |`;

/** The results as a Markdown table: per task mean AUC ± standard error, logloss, size and speed (also what the command prints). */
export function compareTable(r: CompareResult): string {
  const head = ['model', ...r.labels.map((l) => `${l} AUC`), ...r.labels.map((l) => `${l} logloss`), 'params', 'samples/s'];
  const lines = [row(head), row(head.map((_, i) => (i === 0 ? '---' : '---:')))];
  for (const m of r.models) {
    lines.push(
      row([
        m.model,
        ...m.auc.map((a, t) => `${f4(a)} ± ${f4(m.aucSe[t]!)}`),
        ...m.logloss.map((l, t) => `${f4(l)} ± ${f4(m.loglossStd[t]! / Math.sqrt(r.seeds))}`),
        String(m.params),
        String(Math.round(m.samplesPerSecond)),
      ]),
    );
  }
  if (r.oracleAuc) lines.push(row(['oracle', ...r.oracleAuc.map(f4), ...r.labels.map(() => ''), '', '']));
  return lines.join('\n');
}

/**
 * The paired differences from the reference model as a Markdown table: per task, mean
 * difference ± its standard error, seeds won, and seeds needed to resolve 0.005.
 */
export function pairedTable(r: CompareResult): string {
  const head = ['model', ...r.labels.map((l) => `${l}: diff ± SE (wins)`), ...r.labels.map((l) => `${l}: seeds for 0.005`)];
  const lines = [row(head), row(head.map((_, i) => (i === 0 ? '---' : '---:')))];
  for (const m of r.models) {
    const v = m.vsReference;
    if (v === null) continue;
    lines.push(
      row([
        `${m.model} \u2212 ${r.reference}`,
        ...v.diff.map((d, t) => `${signed(d)} ± ${f4(v.se[t]!)} (${v.wins[t]}/${r.seeds})`),
        ...v.seedsFor005.map((n) => (n === null ? 'n/a' : String(n))),
      ]),
    );
  }
  return lines.join('\n');
}

/** In words, per task and model: which paired differences are within noise (|diff| < 2 SE) and which are not. */
export function noiseVerdicts(r: CompareResult): string[] {
  const out: string[] = [];
  r.labels.forEach((label, t) => {
    for (const m of r.models) {
      const v = m.vsReference;
      if (v === null) continue;
      const d = v.diff[t]!;
      const se = v.se[t]!;
      const what = `${label}: ${m.model} \u2212 ${r.reference} = ${signed(d)} ± ${f4(se)}, won ${v.wins[t]}/${r.seeds} seeds`;
      if (r.seeds < 2) out.push(`${what}: one seed, no noise estimate`);
      else if (withinNoise(d, se, r.seeds)) out.push(`${what}: within noise (|diff| < 2 SE)`);
      else out.push(`${what}: beyond noise (|diff| >= 2 SE), ${d > 0 ? `${m.model} ahead` : `${r.reference} ahead`}`);
    }
  });
  return out;
}

/**
 * `aitm compare`: trains each model once per seed, each run up to `epochs` epochs with early
 * stopping on validation, and writes DIR/compare.json (`CompareResult`), DIR/compare.md and
 * DIR/auc-by-model.svg. Seed s gives every model the same world, splits and initialisation
 * seed, so the differences between models are paired by seed.
 */
export async function compareCommand(opts: CompareOptions = {}): Promise<{ result: CompareResult; outDir: string }> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const data = opts.data ?? 'synthetic';
  const synthetic = data === 'synthetic';
  const seeds = opts.seeds ?? COMPARE_DEFAULTS.seeds;
  const epochs = opts.epochs ?? COMPARE_DEFAULTS.epochs;
  const rows = opts.rows ?? COMPARE_DEFAULTS.rows;
  if (!Number.isInteger(seeds) || seeds < 1) throw new Error(`compare: seeds must be a positive integer, got ${seeds}`);
  const asked = opts.models ?? [...MODEL_NAMES];
  for (const m of asked) if (!MODEL_NAMES.includes(m)) throw new Error(`compare: unknown model '${m}' (known: ${MODEL_NAMES.join(', ')})`);
  if (!synthetic && opts.world !== undefined) throw new Error('--world applies to the synthetic data, not to --data FILE');
  const world = synthetic ? syntheticWorld(opts) : null;
  const tasks = world?.steps !== undefined && world.steps.length > 0 ? world.steps.length + 1 : 2;
  const skipped: CompareResult['skipped'] = [];
  const models = asked.filter((m) => {
    if (m === 'esmm' && tasks !== 2) {
      skipped.push({ model: m, reason: `ESMM models exactly 2 tasks (pCTR and pCTCVR), this world has ${tasks}` });
      return false;
    }
    return true;
  });
  if (models.length === 0) throw new Error('compare: no model left to run');
  const reference: ModelName = models.includes('aitm') ? 'aitm' : models[0]!;
  const outDir = opts.out ?? join('runs', `compare-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`);
  makeFolder(outDir, '--out');
  // compare.json, compare.md and the plot are its own outputs (replaced by a rerun), never its inputs.
  const files = ['compare.json', 'compare.md', 'auc-by-model.svg'].map((f) => join(outDir, f));
  for (const f of files) checkOutputFile(f, { flag: '--out', inputs: [opts.data, opts.val, opts.test], overwrite: true });
  const worldName = synthetic ? (opts.world ?? 'default') : null;
  log(`compare: ${models.join(', ')} on ${synthetic ? `synthetic data (world ${worldName}, ${tasks} tasks, ${rows} train rows)` : data}, up to ${epochs} epoch(s) with early stopping, seeds 1..${seeds}`);
  for (const s of skipped) log(`  skipped ${s.model}: ${s.reason}`);

  const runs: Array<{ model: ModelName; reports: Report[]; runDir: string }> = [];
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
        ...(world !== null && { synthetic: world }),
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
      if (report.oracleAuc && runs.length === 0) oracles.push(report.oracleAuc);
      log(`  ${model} seed ${seed}: test AUC ${report.test.auc.map((a) => a.toFixed(4)).join(' / ')}, ${report.epochs.length} epoch(s) (best ${report.bestEpoch + 1}), ${Math.round(report.samplesPerSecond)} samples/s`);
    }
    runs.push({ model, reports, runDir });
  }
  const refAucs = runs.find((r) => r.model === reference)!.reports.map((r) => r.test.auc);
  const results: CompareModelResult[] = [];
  for (const { model, reports, runDir } of runs) {
    const aucs = reports.map((r) => r.test.auc);
    const lls = reports.map((r) => r.test.logloss);
    results.push({
      model,
      auc: perTask(aucs, mean),
      aucStd: perTask(aucs, std),
      aucSe: perTask(aucs, std).map((x) => x / Math.sqrt(seeds)),
      logloss: perTask(lls, mean),
      loglossStd: perTask(lls, std),
      params: await paramCount(runDir, memoryLimitOf(opts.maxMemory)),
      samplesPerSecond: mean(reports.map((r) => r.samplesPerSecond)),
      aucBySeed: aucs,
      epochsBySeed: reports.map((r) => r.epochs.length),
      vsReference: model === reference ? null : paired(aucs, refAucs),
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
    reference,
    world: worldName,
    skipped,
    maxEpochs: epochs,
  };
  const table = compareTable(result);
  const diffs = pairedTable(result);
  const verdicts = noiseVerdicts(result);
  const what = synthetic ? `synthetic data, world \`${worldName}\` (${labels.join(' \u2192 ')}), ${rows} training rows` : `\`${data}\``;
  const epochsRun = results.map((m) => `${m.model} ${m.epochsBySeed.join('/')}`).join(', ');
  const md = [
    '# aitm compare',
    '',
    `Test AUC and logloss per task, mean ± standard error (SE = sd / sqrt(seeds)) over ${seeds} seed(s); ${what}; backend ${backend ?? '?'}.`,
    `Every model trains on the same worlds, splits and initialisation seeds (seed s: world s, its splits, weights and shuffles from s), up to ${epochs} epochs with early stopping on the validation AUC sum (patience 2, best epoch kept); epochs run per seed: ${epochsRun}.`,
    'Non-AITM models train on the plain sum of BCEs; ESMM\'s second column is pCTCVR = pCTR * pCVR.',
    ...skipped.map((s) => `Skipped ${s.model}: ${s.reason}.`),
    '',
    table,
    '',
    `## Paired differences from ${reference}`,
    '',
    `Per seed, each model's test AUC minus ${reference}'s on the same seed; mean ± SE of those differences, and the seeds (of ${seeds}) where the model's AUC was higher. ` +
      `A difference is within noise when |diff| < 2 SE. "Seeds for 0.005": n = ceil((2 * 1.96 * sd / 0.005)^2), sd the standard deviation of the per-seed differences: ` +
      'the seeds at which the 95% interval of the mean difference (± 1.96 sd / sqrt(n)) shrinks to ± 0.0025, so a true difference of 0.005 is resolved.',
    '',
    diffs,
    '',
    ...verdicts.map((v) => `- ${v}`),
    '',
  ].join('\n');
  writeAtomic(files[0]!, `${JSON.stringify(result, null, 2)}\n`);
  writeAtomic(files[1]!, md);
  writeAtomic(files[2]!, aucByModel(result));
  log('');
  log(table);
  log('');
  log(diffs);
  for (const v of verdicts) log(`  ${v}`);
  log(`wrote ${join(outDir, 'compare.json')}, compare.md and auc-by-model.svg`);
  return { result, outDir };
}

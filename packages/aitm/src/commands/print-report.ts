// The lines the commands print about their results: train's test AUC, oracle AUC, gap,
// logloss and speed, and eval's per-task metrics.

import type { Report } from '../report.js';
import type { TaskMetrics } from '../train/evaluate.js';

function fmt(v: number[]): string {
  return v.map((x) => x.toFixed(4)).join(' / ');
}

/** An AUC as printed: 4 decimals, or "undefined" (a split with one class; aucNotes says why). */
const aucText = (a: number): string => (Number.isNaN(a) ? 'undefined' : a.toFixed(4));

/**
 * Why a task's AUC is undefined on `ds`, one line per such task: the split (`where`, e.g. "the
 * test split") has no rows, no positive or no negative labels for it. Empty when every AUC is defined.
 *
 * @example
 * aucNotes(['click', 'purchase'], test, 'the test split');
 * // ['purchase: AUC undefined: no positive labels in the test split (0 of 120 rows)']
 */
export function aucNotes(labels: readonly string[], ds: { readonly n: number; readonly labels: readonly ArrayLike<number>[] }, where: string): string[] {
  const notes: string[] = [];
  labels.forEach((l, t) => {
    const note = aucNote(l, ds.n, positives(ds.labels[t]!, ds.n), where);
    if (note !== null) notes.push(note);
  });
  return notes;
}

/** How many of the first `n` 0/1 labels of `col` are positive (> 0.5). */
export function positives(col: ArrayLike<number>, n = col.length): number {
  let pos = 0;
  for (let i = 0; i < n; i++) if (col[i]! > 0.5) pos++;
  return pos;
}

/** `aucNotes` for one task of `n` rows, `pos` of them positive; null when its AUC is defined. */
export function aucNote(label: string, n: number, pos: number, where: string): string | null {
  if (n === 0) return `${label}: AUC undefined: ${where} has no rows`;
  if (pos === 0) return `${label}: AUC undefined: no positive labels in ${where} (0 of ${n} rows)`;
  if (pos === n) return `${label}: AUC undefined: no negative labels in ${where} (all ${n} rows are 1)`;
  return null;
}

/**
 * What `aitm train` prints when it is done: the test AUC per task, on synthetic data the
 * oracle AUC and the gap to it (with a verdict at 0.01), then the test logloss, samples/s,
 * the WebGPU work per step where there is any, and the run folder written.
 */
export function trainSummary(report: Report, outDir: string): string[] {
  const labels = report.labels;
  const lines = [`test AUC   ${labels.map((l, i) => `${l} ${aucText(report.test.auc[i]!)}`).join(', ')}`];
  if (report.oracleAuc) lines.push(`oracle AUC ${labels.map((l, i) => `${l} ${report.oracleAuc![i]!.toFixed(4)}`).join(', ')}`);
  if (report.oracleAuc) {
    const gaps = report.oracleAuc.map((o, i) => o - report.test.auc[i]!);
    const verdict = gaps.every((g) => g <= 0.01) ? 'every task within 0.01 of the oracle' : 'NOT every task within 0.01 of the oracle';
    lines.push(`gap        ${labels.map((l, i) => `${l} ${gaps[i]!.toFixed(4)}`).join(', ')} (oracle - test): ${verdict}`);
  }
  const work = report.perStep ? `; per step: ${Math.round(report.perStep.dispatches)} dispatches, ${report.perStep.syncs.toFixed(2)} host syncs` : '';
  lines.push(`test logloss ${fmt(report.test.logloss)}; ${Math.round(report.samplesPerSecond)} samples/s${work}; wrote ${outDir}`);
  return lines;
}

/** What `aitm eval` prints: one line per task (label order) with its AUC ("undefined" where it is; see aucNotes) and logloss. */
export function metricsLines(labels: readonly string[], m: TaskMetrics): string[] {
  return labels.map((l, i) => `${l}: AUC ${aucText(m.auc[i]!)}, logloss ${m.logloss[i]!.toFixed(4)}`);
}

// The lines the commands print about their results: train's test AUC, oracle AUC, gap,
// logloss and speed, and eval's per-task metrics.

import type { Report } from '../report.js';
import type { TaskMetrics } from '../train/evaluate.js';

function fmt(v: number[]): string {
  return v.map((x) => x.toFixed(4)).join(' / ');
}

/**
 * What `aitm train` prints when it is done: the test AUC per task, on synthetic data the
 * oracle AUC and the gap to it (with a verdict at 0.01), then the test logloss, samples/s,
 * the WebGPU work per step where there is any, and the run folder written.
 */
export function trainSummary(report: Report, outDir: string): string[] {
  const labels = report.labels;
  const lines = [`test AUC   ${labels.map((l, i) => `${l} ${report.test.auc[i]!.toFixed(4)}`).join(', ')}`];
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

/** What `aitm eval` prints: one line per task (label order) with its AUC and logloss. */
export function metricsLines(labels: readonly string[], m: TaskMetrics): string[] {
  return labels.map((l, i) => `${l}: AUC ${m.auc[i]!.toFixed(4)}, logloss ${m.logloss[i]!.toFixed(4)}`);
}

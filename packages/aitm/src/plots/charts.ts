// The plots the commands write: learning curves of a training run, the AITM attention on the
// transferred vector, and per-task test AUC by model from `aitm compare`. Each returns an SVG
// document as a string.

import type { CompareResult, Report } from '../report.js';
import { barPanel, figure, histogramPanel, linePanel } from './svg.js';

/** Validation AUC per task per epoch, and the training loss in its own panel. */
export function learningCurves(report: Pick<Report, 'epochs' | 'labels' | 'bestEpoch'>): string {
  const x = report.epochs.map((_, i) => i + 1);
  const best = report.bestEpoch + 1;
  return figure({
    title: `Learning curves (best epoch ${best} of ${x.length})`,
    panels: [
      linePanel({
        title: 'Validation AUC',
        xLabel: 'epoch',
        yLabel: 'AUC',
        xMinStep: 1,
        // JSON turns a NaN AUC into null; the line skips it either way.
        series: report.labels.map((name, t) => ({ name, x, y: report.epochs.map((e) => e.valAuc[t] ?? NaN) })),
      }),
      linePanel({ title: 'Training loss', xLabel: 'epoch', yLabel: 'loss (epoch mean)', xMinStep: 1, series: [{ name: 'train loss', x, y: report.epochs.map((e) => e.loss ?? NaN) }] }),
    ],
  });
}

/**
 * One histogram per transfer step of the attention weight on the transferred vector (column 1
 * of AITM's [B, 2] weights). `labels` (the task names) name the steps.
 */
export function attentionHistogram(weights: readonly Float32Array[], labels?: readonly string[]): string {
  return figure({
    title: 'AITM attention weight on the transferred vector',
    panels: weights.map((w, t) => {
      const mean = w.reduce((a, b) => a + b, 0) / Math.max(1, w.length);
      const step = labels?.[t] !== undefined && labels[t + 1] !== undefined ? `${labels[t + 1]} reads ${labels[t]}` : `step ${t + 1}`;
      return histogramPanel({ title: `${step}: mean ${mean.toFixed(3)}, n = ${w.length}`, xLabel: 'weight on transferred vector', values: w });
    }),
    columns: 2,
  });
}

/** Per task, a bar per model of mean test AUC with ± std error bars; the oracle dashed when known. */
export function aucByModel(result: Pick<CompareResult, 'labels' | 'models' | 'oracleAuc' | 'seeds'>): string {
  return figure({
    title: `Test AUC by model (mean ± std over ${result.seeds} seed${result.seeds === 1 ? '' : 's'})`,
    panels: [
      barPanel({
        title: 'Test AUC per task',
        yLabel: 'AUC',
        categories: result.labels,
        // AUC 0.5 is chance: bars measure the gain over guessing.
        baseline: 0.5,
        groups: result.models.map((m) => ({ name: m.model, values: m.auc, errors: m.aucStd })),
        ...(result.oracleAuc ? { reference: { name: 'oracle', values: result.oracleAuc } } : {}),
      }),
    ],
    panelWidth: 200 + 120 * Math.max(1, result.labels.length),
    panelHeight: 340,
  });
}

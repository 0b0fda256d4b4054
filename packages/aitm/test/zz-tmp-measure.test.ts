import { it } from 'vitest';
import { trainCommand } from '../src/run.js';
it('measure', async () => {
  for (const [rows, epochs, batchSize, lr] of [[60000, 2, 1024, 5e-3], [60000, 2, 512, 5e-3], [60000, 2, 1024, 1e-2]] as const) {
    const t0 = performance.now();
    const { report } = await trainCommand({ model: 'aitm', syntheticRows: rows, epochs, batchSize, lr, seed: 1, out: '/tmp/x/m1', quiet: true, log: () => {} });
    console.log(rows, epochs, batchSize, lr, 'auc', report.test.auc.map((a) => a.toFixed(4)).join('/'), 'oracle', report.oracleAuc!.map((a) => a.toFixed(4)).join('/'), Math.round(report.samplesPerSecond), 'sps', ((performance.now() - t0) / 1000).toFixed(1), 's');
  }
}, 900_000);

#!/usr/bin/env node
// Parsing speed of the CSV reader (packages/aitm/dist; run `pnpm build` first): one pass of
// readCsvChunks over FILE, chunks dropped as they come, as rows/s and MB/s: by the wall clock
// and by this process's CPU time (user + system: the rate per core, also on a busy machine).
//
//   node scripts/parse-speed.mjs FILE [--repeat 3]
import { statSync } from 'node:fs';
import { readCsvChunks } from '../packages/aitm/dist/node.js';

const file = process.argv[2];
const ri = process.argv.indexOf('--repeat');
const repeat = ri >= 0 ? Number(process.argv[ri + 1]) : 3;
const bytes = statSync(file).size;
for (let r = 0; r < repeat; r++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let rows = 0;
  for await (const chunk of readCsvChunks(file)) rows += chunk.data.n;
  const s = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6; // this process's CPU time: the per-core rate on a busy machine
  const mb = bytes / 1e6;
  console.log(
    `${file}: ${rows} rows, ${mb.toFixed(0)} MB; wall ${s.toFixed(2)} s: ${Math.round(rows / s)} rows/s, ${(mb / s).toFixed(1)} MB/s; ` +
      `CPU ${cpu.toFixed(2)} s: ${Math.round(rows / cpu)} rows/s, ${(mb / cpu).toFixed(1)} MB/s per core`,
  );
}

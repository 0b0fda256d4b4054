// Runs benchmark suites by name and prints/writes their results.
//
//   node bench/dist/cli.js [suite ...] [--quick]      (suites: matmul, aitm, browser, costs; default: all)
//
// Each suite writes bench/results/<suite>.json: [{case, unit, ours, peers: {name: value}}].

import * as T from '@aitm/tensor';
import { printPeerRatios, printTable, writeResults, type Row, type SuiteOptions } from './common.js';

type Suite = (opts: SuiteOptions) => Promise<Row[]>;

/** Suites load lazily, so one that cannot start does not stop the others. */
const SUITES: Record<string, () => Promise<Suite>> = {
  matmul: async () => (await import('./matmul.js')).runMatmulBench,
  aitm: async () => (await import('./aitm.js')).runAitmBench,
  browser: async () => (await import('./browser.js')).runBrowserBench,
  costs: async () => (await import('./costs.js')).runCostsBench,
};

/**
 * The CPU comparisons beside the WebGPU ratios: our wasm backend against PyTorch at the same
 * thread count, and at one thread against tfjs-wasm (single-threaded in Node).
 */
function cpuPairs(rows: Row[]): [string, string][] {
  const names = new Set(rows.flatMap((r) => Object.keys(r.peers)));
  const pairs: [string, string][] = [];
  for (const name of names) {
    const m = /^ours-wasm-(\d+)t$/.exec(name);
    if (m && names.has(`torch-cpu-${m[1]}t`)) pairs.push([name, `torch-cpu-${m[1]}t`]);
  }
  if (names.has('ours-wasm-1t') && names.has('tfjs-wasm')) pairs.push(['ours-wasm-1t', 'tfjs-wasm']);
  return pairs;
}

async function main(): Promise<void> {
  // Our wasm columns run the fused multiply-add kernels, as the aitm command does (Node 20
  // validates relaxed SIMD only behind a V8 flag; torch and onnxruntime use FMA too).
  console.log(`wasm kernels: ${(await T.enableRelaxedSimd()) ? 'relaxed SIMD (fused multiply-add)' : 'SIMD128 (no relaxed SIMD on this host)'}`);
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const names = args.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !(n in SUITES));
  if (unknown.length > 0) throw new Error(`bench: unknown suite(s) ${unknown.join(', ')}; known: ${Object.keys(SUITES).join(', ')}`);
  for (const name of names.length > 0 ? names : Object.keys(SUITES)) {
    const t0 = performance.now();
    const rows = await (await SUITES[name]!())({ quick });
    printTable(`${name}${quick ? ' (quick)' : ''}: ${((performance.now() - t0) / 1000).toFixed(0)} s`, rows);
    printPeerRatios(rows, cpuPairs(rows));
    console.log(`wrote ${writeResults(name, rows)}`);
  }
}

main().then(
  // GPU devices (ours and tfjs's) keep Node's event loop alive: exit explicitly.
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);

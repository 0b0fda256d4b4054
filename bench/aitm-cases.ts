// The AITM benchmark's model shape, cases and data file, shared by bench/aitm.ts and the
// tfjs child (peers/tfjs_aitm.ts), which must not load @aitm/tensor: it has its own GPU.

import { readFileSync, writeFileSync } from 'node:fs';

export { SHAPE } from './aitm-shape.js';
import { SHAPE } from './aitm-shape.js';

export type Mode = 'train' | 'infer';

export interface AitmCase {
  /** Row name in the table and in results/aitm.json, e.g. "train B=2048 bn". */
  name: string;
  mode: Mode;
  batch: number;
  /** BatchNorm1d in the bottoms and towers (the info gate always has it, as in torch-rechub). */
  batchNorm: boolean;
}

/**
 * The batch sizes: 512, 2048 and 8192, or the comma list in AITM_BENCH_BATCHES (bench/gpu.sh
 * asks for up to 65536 on a real GPU).
 */
export const BATCHES: readonly number[] = (() => {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.AITM_BENCH_BATCHES;
  if (!env) return [512, 2048, 8192];
  const list = env.split(',').map((v) => Number(v.trim()));
  if (list.some((b) => !Number.isInteger(b) || b < 2)) throw new Error(`AITM_BENCH_BATCHES: expected a comma list of integers >= 2, got '${env}'`);
  return list;
})();

/** Training cases first (the headline), then inference; BatchNorm on before off. */
export function aitmCases(): AitmCase[] {
  const out: AitmCase[] = [];
  for (const mode of ['train', 'infer'] as const) {
    for (const batchNorm of [true, false]) {
      for (const batch of BATCHES) out.push({ name: `${mode} B=${batch} ${batchNorm ? 'bn' : 'no-bn'}`, mode, batch, batchNorm });
    }
  }
  return out;
}

/** What a peer process is given (as one JSON argument). */
export interface PeerSpec {
  /** The data file written by writeBatchFile. */
  data: string;
  rows: number;
  shape: typeof SHAPE;
  cases: AitmCase[];
  /** Timed work per case and rounds (best round reported), as timingFor gives them. */
  budgetMs: number;
  rounds: number;
  maxReps: number;
  /** Seconds the whole peer run may take; cases left when it passes are reported as null. */
  deadlineS: number;
  /** Time with timeFewSteps instead of timeIt: `warm` synced steps, then up to `steps` timed (for steps of seconds). */
  few?: { warm: number; steps: number };
  /** Only these batch sizes (the others are skipped and reported as null). */
  batches?: number[];
  /** Threads the peer runs on, where it is told (torch_aitm.py: torch.set_num_threads). */
  threads?: number;
}

/** What a peer prints as its last line. */
export interface PeerReply {
  results: Record<string, number>;
  skipped: string[];
  note?: string;
  /** Threads the peer ran on, where it reports them (torch_aitm.py). */
  threads?: number;
}

export interface BatchData {
  /** Per field, `rows` ids in [0, vocab). */
  ids: Int32Array[];
  /** Per task, `rows` 0/1 labels. */
  labels: Float32Array[];
}

/**
 * One raw little-endian file every implementation reads, so all train on the same rows:
 * `fields` int32 columns of `rows` ids, then `tasks` float32 label columns.
 */
export function writeBatchFile(path: string, d: BatchData): void {
  const parts = [...d.ids, ...d.labels].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  writeFileSync(path, Buffer.concat(parts));
}

export function readBatchFile(path: string, rows: number, fields: number, tasks: number): BatchData {
  const buf = readFileSync(path);
  const need = (fields + tasks) * rows * 4;
  if (buf.byteLength !== need) throw new Error(`readBatchFile: ${path} has ${buf.byteLength} bytes, expected ${need} (${fields} + ${tasks} columns of ${rows})`);
  const bytes = new Uint8Array(buf); // a fresh, aligned copy
  const col = (i: number) => bytes.buffer.slice(bytes.byteOffset + i * rows * 4, bytes.byteOffset + (i + 1) * rows * 4);
  return {
    ids: Array.from({ length: fields }, (_, f) => new Int32Array(col(f))),
    labels: Array.from({ length: tasks }, (_, t) => new Float32Array(col(fields + t))),
  };
}

/**
 * Seconds per step when steps are too slow for timeIt's warm-up and rounds (tfjs on the
 * CPU takes tens of seconds per step): `warm` synced steps, then up to `steps` timed ones
 * with one wait at the end, fewer if they would pass `deadlineS`.
 */
export async function timeFewSteps(step: () => void, sync: () => Promise<void>, warm: number, steps: number, deadlineS: number): Promise<number> {
  const start = performance.now();
  let once = 0;
  for (let i = 0; i < warm; i++) {
    const t0 = performance.now();
    step();
    await sync();
    once = performance.now() - t0;
  }
  const leftMs = deadlineS * 1000 - (performance.now() - start);
  const n = Math.max(1, Math.min(steps, once > 0 ? Math.floor(leftMs / once) : steps));
  const t0 = performance.now();
  for (let i = 0; i < n; i++) step();
  await sync();
  return (performance.now() - t0) / n / 1000;
}

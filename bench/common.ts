// What every benchmark suite shares: the result row, GPU-aware timing, peer runs with
// time bounds, and the table printed at the end.

import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One measured case: our number and each peer's (null when the peer could not run it). */
export interface Row {
  case: string;
  unit: string;
  ours: number | null;
  peers: Record<string, number | null>;
  /** Why a peer's value is null or how it was run, by peer name (only where there is something to say). */
  notes?: Record<string, string>;
}

export interface SuiteOptions {
  /** A smaller set of cases and shorter timing, for CI and quick checks (under 3 minutes). */
  quick: boolean;
}

export interface TimingOptions {
  /** Wall time to spend on the timed repetitions of one case (after warm-up). */
  budgetMs: number;
  /** Timed rounds; the best round's time per repetition is reported. */
  rounds: number;
  maxReps: number;
}

export function timingFor(quick: boolean): TimingOptions {
  return quick ? { budgetMs: 800, rounds: 3, maxReps: 100 } : { budgetMs: 2000, rounds: 3, maxReps: 200 };
}

/**
 * Seconds per repetition of GPU (or CPU) work. `run` records one repetition, `sync` waits
 * until everything recorded so far has finished (a read of a tiny result): GPU APIs
 * return before the work is done, so timing `run` alone would measure only recording.
 * Two warm-up repetitions compile the pipelines and fill the buffer pools (tfjs still does
 * one-time work on its second call); a third, timed, sizes the rounds. A case whose single
 * repetition exceeds a round's budget is timed one repetition per round.
 */
export async function timeIt(run: () => void, sync: () => Promise<void>, opts: TimingOptions): Promise<number> {
  for (let i = 0; i < 2; i++) {
    run();
    await sync();
  }
  let t0 = performance.now();
  run();
  await sync();
  const once = performance.now() - t0;
  const perRound = opts.budgetMs / opts.rounds;
  const reps = Math.max(1, Math.min(opts.maxReps, Math.floor(perRound / Math.max(once, 1e-3))));
  let best = once / 1000;
  for (let r = 0; r < opts.rounds; r++) {
    t0 = performance.now();
    for (let i = 0; i < reps; i++) run();
    await sync();
    best = Math.min(best, (performance.now() - t0) / reps / 1000);
  }
  return best;
}

/** A wall-clock limit shared by the parts of a run, so `--quick` stays bounded. */
export class Deadline {
  private readonly end: number;
  constructor(seconds: number) {
    this.end = performance.now() + seconds * 1000;
  }
  get left(): number {
    return Math.max(0, (this.end - performance.now()) / 1000);
  }
  get passed(): boolean {
    return this.left === 0;
  }
}

/**
 * Runs a peer's Python script with a JSON argument and parses the JSON it prints last.
 * Returns null (and says why) when Python, the module or the time limit fails it.
 */
export function runPython(script: string, arg: unknown, timeoutS: number, env: Record<string, string> = {}): unknown {
  const path = fileURLToPath(new URL(`../peers/${script}`, import.meta.url));
  const res = spawnSync('/usr/bin/python3', [path, JSON.stringify(arg)], {
    encoding: 'utf8',
    timeout: timeoutS * 1000,
    env: { ...process.env, ...env },
    maxBuffer: 16 << 20,
  });
  if (res.error || res.status !== 0) {
    const why = res.error?.message ?? (res.stderr.trim().split('\n').pop() || `exit ${res.status}`);
    console.warn(`peer ${script} failed: ${why}`);
    return null;
  }
  const last = res.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last);
  } catch {
    console.warn(`peer ${script} printed no JSON: ${last.slice(0, 200)}`);
    return null;
  }
}

const fmt = (v: number | null): string => (v === null ? '-' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** The table of a suite: ours, each peer, and ours / peer (above 1: we are faster). */
export function printTable(title: string, rows: Row[]): void {
  const peers = [...new Set(rows.flatMap((r) => Object.keys(r.peers)))];
  const head = ['case', `ours (${rows[0]?.unit ?? ''})`, ...peers.flatMap((p) => [p, `ours/${p}`])];
  const body = rows.map((r) => [
    r.case,
    fmt(r.ours),
    ...peers.flatMap((p) => {
      const v = r.peers[p] ?? null;
      return [fmt(v), r.ours !== null && v ? `${(r.ours / v).toFixed(2)}x` : '-'];
    }),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${title}\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const b of body) console.log(line(b));
  // A note shared by every row (a column skipped throughout) is printed once.
  const notes = new Set(rows.flatMap((r) => Object.entries(r.notes ?? {}).map(([p, n]) => `${p}: ${n}`)));
  for (const n of notes) console.log(`note: ${n}`);
}

/**
 * Ratios between two peer columns per case (`num / den`, above 1: num is faster), e.g. our
 * wasm backend against PyTorch on the CPU at the same thread count.
 */
export function printPeerRatios(rows: Row[], pairs: readonly (readonly [string, string])[]): void {
  const shown = pairs.filter(([a, b]) => rows.some((r) => r.peers[a] != null && r.peers[b] != null));
  if (shown.length === 0) return;
  const head = ['case', ...shown.map(([a, b]) => `${a}/${b}`)];
  const body = rows.map((r) => [
    r.case,
    ...shown.map(([a, b]) => {
      const x = r.peers[a] ?? null;
      const y = r.peers[b] ?? null;
      return x !== null && y ? `${(x / y).toFixed(2)}x` : '-';
    }),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const b of body) console.log(line(b));
}

/** Writes bench/results/<suite>.json (next to the sources, not in dist/). */
export function writeResults(suite: string, rows: Row[]): string {
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const path = `${dir}${suite}.json`;
  writeFileSync(path, `${JSON.stringify(rows, null, 2)}\n`);
  return path;
}

/**
 * A peer process's entry: runs `main`, prints its reply as the last stdout line (what
 * runNodePeer reads) and exits explicitly, since a GPU device or a native runtime can keep
 * Node's event loop alive.
 */
export function runPeerMain(main: () => Promise<unknown>): void {
  main().then(
    (reply) => {
      console.log(JSON.stringify(reply));
      process.exit(0);
    },
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}


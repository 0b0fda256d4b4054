// AITM throughput (samples/s): a training step (forward, aitmLoss, backward, Adam, zeroGrad)
// and eval-mode inference, ours on WebGPU, on the CPU and on wasm against the same model in
// TensorFlow.js (WebGPU, wasm and CPU, each in its own child process), onnxruntime on the
// CPU (inference) and PyTorch on the CPU. `ours` is our WebGPU number; our CPU backend is
// the peer "ours-cpu", our wasm backend "ours-wasm-1t" / "ours-wasm-2t" (1 and 2 threads),
// beside PyTorch at the same thread counts, "torch-cpu-1t" / "torch-cpu-2t".

import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as T from '@aitm/tensor';
import { Adam } from '@aitm/nn';
import { aitmLoss, batchTensors, buildModel, defaultConfig, generateSynthetic, onnxBytes, type AitmConfig, type Dataset } from '@aitm/aitm';
import { Deadline, runPython, timeIt, timingFor, type Row, type SuiteOptions, type TimingOptions } from './common.js';
import { aitmCases, BATCHES, SHAPE, writeBatchFile, type AitmCase, type PeerReply, type PeerSpec } from './aitm-cases.js';
import { hasOpenBlas, oursWasmKey, releaseWasm, THREAD_COUNTS, torchCpuKey, torchEnv, useWasmThreads } from './threads.js';

/** Our WebGPU work per step, counted over a few unsynced steps after the timing. */
export interface PerStep {
  dispatches: number;
  submits: number;
  /** Host waits for the GPU inside the steps: 0 unless something reads back mid-step. */
  syncs: number;
  /** GPU milliseconds per step by op (timestamp queries), slowest first; training cases only. */
  gpuMsByOp?: { op: string; dispatches: number; ms: number }[];
}

/** A result row plus our WebGPU work per step (extra key in results/aitm.json). */
export interface AitmRow extends Row {
  perStep: PerStep | null;
}

const COUNTED_STEPS = 3;

export function configFor(data: Dataset, batchNorm: boolean): AitmConfig {
  const config = defaultConfig(data.schema, { alpha: SHAPE.alpha }) as AitmConfig;
  // The config is readonly: a copy with the bench's bottoms and towers.
  return {
    ...config,
    bottom: { ...config.bottom, dims: [...SHAPE.bottom], batchNorm },
    towers: config.towers.map((t) => ({ ...t, dims: [...SHAPE.tower], batchNorm })),
  };
}

function modelFor(data: Dataset, batchNorm: boolean) {
  return buildModel(configFor(data, batchNorm));
}

interface OursResult {
  samplesPerS: number;
  perStep: PerStep | null;
}

/**
 * How one implementation is run: which batch sizes, how long, how timed. --quick must end
 * within 3 minutes in all, so there the slow implementations skip their large batches.
 */
interface Plan {
  /** Seconds it may spend; cases not started by then are reported as null. */
  limitS: number;
  batches: readonly number[];
  timing: TimingOptions;
  /** timeFewSteps instead of timeIt, for steps of seconds (tfjs on the CPU). */
  few?: { warm: number; steps: number };
}

/** ours-wasm and torch-cpu: the plan of each thread count's run. */
type Impl = 'ours-webgpu' | 'ours-cpu' | 'ours-wasm' | 'torch-cpu' | 'tfjs-webgpu' | 'tfjs-wasm' | 'tfjs-cpu' | 'onnxruntime-cpu';

function plans(quick: boolean): Record<Impl, Plan> {
  const t = timingFor(quick);
  if (!quick) {
    const all = { batches: BATCHES, timing: t };
    return {
      'ours-webgpu': { limitS: 300, ...all },
      'ours-cpu': { limitS: 300, ...all },
      'ours-wasm': { limitS: 300, ...all },
      'torch-cpu': { limitS: 300, ...all },
      'tfjs-webgpu': { limitS: 600, ...all },
      'tfjs-wasm': { limitS: 600, ...all, few: { warm: 1, steps: 3 } },
      // Tens of seconds per training step: one warm-up and two timed steps at most.
      'tfjs-cpu': { limitS: 600, ...all, few: { warm: 1, steps: 2 } },
      'onnxruntime-cpu': { limitS: 300, ...all },
    };
  }
  // Measured on llvmpipe with 2 cores: our CPU step takes about 5 s at B=8192, and tfjs
  // on WebGPU compiles for 10 s or more per new batch size and about 40 s at B=8192.
  const oneRound = { ...t, rounds: 1 };
  return {
    'ours-webgpu': { limitS: 40, batches: BATCHES, timing: t },
    'ours-cpu': { limitS: 20, batches: [512, 2048], timing: oneRound },
    // Per thread count; all 12 cases take about 10 s here with one round (B=8192 training: 0.3 s per step).
    'ours-wasm': { limitS: 20, batches: BATCHES, timing: oneRound },
    'torch-cpu': { limitS: 20, batches: BATCHES, timing: t },
    'tfjs-webgpu': { limitS: 45, batches: [512, 2048], timing: oneRound },
    'tfjs-wasm': { limitS: 30, batches: [512, 2048], timing: oneRound, few: { warm: 1, steps: 2 } },
    'tfjs-cpu': { limitS: 20, batches: [512], timing: oneRound, few: { warm: 0, steps: 1 } },
    'onnxruntime-cpu': { limitS: 20, batches: BATCHES, timing: t },
  };
}

/**
 * The timed step of a case and the read that waits for it: a training step (forward,
 * aitmLoss, backward, Adam, zeroGrad in tidy) or an eval-mode forward. `done` frees the
 * last inference output. Shared with profile-step.ts.
 */
export function stepFor(model: ReturnType<typeof buildModel>, batch: ReturnType<typeof batchTensors>, optimizer: Adam, mode: 'train' | 'infer') {
  const param = model.parameters().at(-1)!;
  let last: T.Tensor | null = null;
  model.train(mode === 'train');
  const step =
    mode === 'train'
      ? (): void => {
          T.tidy(() => {
            aitmLoss(model.forward(batch.inputs), batch.labels, SHAPE.alpha).total.backward();
            optimizer.step();
            optimizer.zeroGrad();
          });
        }
      : (): void => {
          const p = T.noGrad(() => T.tidy(() => model.forward(batch.inputs)));
          last?.dispose();
          last = p;
        };
  // GPU work is recorded, not done, when a step returns: a read waits for all of it.
  const sync = async (): Promise<void> => {
    await (mode === 'train' ? param : (last as T.Tensor)).data();
  };
  return { step, sync, done: (): void => (last as T.Tensor | null)?.dispose() };
}

/** One case on our current backend: build, warm up and time inside timeIt, then count. */
async function oursCase(c: AitmCase, data: Dataset, backend: T.BackendName, timing: TimingOptions): Promise<OursResult> {
  const model = modelFor(data, c.batchNorm);
  const batch = batchTensors(data, Int32Array.from({ length: c.batch }, (_, i) => i), backend);
  const optimizer = new Adam(model.parameters(), { lr: SHAPE.lr });
  const { step, sync, done } = stepFor(model, batch, optimizer, c.mode);
  try {
    const seconds = await timeIt(step, sync, timing);
    let perStep: PerStep | null = null;
    if (backend === 'webgpu') {
      T.gpuCounters(true);
      for (let i = 0; i < COUNTED_STEPS; i++) step();
      const n = T.gpuCounters()!; // read before the sync below, which is one host wait
      await sync();
      perStep = { dispatches: n.dispatches / COUNTED_STEPS, submits: n.submits / COUNTED_STEPS, syncs: n.syncs / COUNTED_STEPS };
      if (c.mode === 'train' && T.webGpuAdapter()?.features.includes('timestamp-query')) {
        const prof = (await T.gpuProfile(() => { for (let i = 0; i < COUNTED_STEPS; i++) step(); }))!;
        perStep.gpuMsByOp = prof.map((r) => ({ op: r.op, dispatches: r.dispatches / COUNTED_STEPS, ms: r.ms / COUNTED_STEPS }));
      }
    }
    return { samplesPerS: c.batch / seconds, perStep };
  } finally {
    done();
    optimizer.dispose();
    for (const t of [...Object.values(batch.inputs), batch.labels]) t.dispose();
    model.dispose();
  }
}

/**
 * Every case of `plan` on one of our backends, which the caller has made current (for wasm
 * with its thread count); `label` names the column in the log.
 */
async function ours(backend: T.BackendName, label: string, list: AitmCase[], data: Dataset, plan: Plan): Promise<Map<string, OursResult>> {
  if (backend === 'webgpu') console.log(`ours-webgpu adapter: ${T.webGpuAdapter()?.description ?? '?'}`);
  const deadline = new Deadline(plan.limitS);
  const out = new Map<string, OursResult>();
  for (const c of list) {
    if (!plan.batches.includes(c.batch)) continue;
    if (deadline.passed) {
      console.warn(`${label}: time limit (${plan.limitS} s) reached, skipping '${c.name}' and later cases`);
      break;
    }
    const t0 = performance.now();
    const r = await oursCase(c, data, backend, plan.timing);
    out.set(c.name, r);
    const work = r.perStep ? `, ${r.perStep.dispatches} dispatches, ${r.perStep.syncs} host syncs per step` : '';
    console.log(`${label} ${c.name}: ${r.samplesPerS.toFixed(0)} samples/s${work} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  return out;
}

/** A CPU column at one thread count: its values, or why it was not run. */
interface CpuColumn {
  values: Map<string, number>;
  /** Why the column is null (set with no values), or how it ran where that differs from what was asked. */
  note: string | null;
}

/**
 * Our wasm backend at each thread count (`setNumThreads` where @aitm/tensor has it), the
 * same cases, step and timing as ours on WebGPU. Afterwards the backend goes back to one
 * thread and is released, so no worker of ours competes with the peer processes.
 */
async function oursWasm(list: AitmCase[], data: Dataset, plan: Plan): Promise<Map<number, CpuColumn>> {
  const out = new Map<number, CpuColumn>();
  try {
    for (const threads of THREAD_COUNTS) {
      const note = await useWasmThreads(threads);
      if (note !== null) console.warn(`aitm: ${note}`);
      const values = new Map<string, number>();
      if (note === null) {
        for (const [name, r] of await ours('wasm', oursWasmKey(threads), list, data, plan)) values.set(name, r.samplesPerS);
      }
      out.set(threads, { values, note });
    }
  } finally {
    await releaseWasm();
  }
  return out;
}

/**
 * Our WebGPU step at a batch of 16, where the kernels have almost nothing to compute: its
 * time over its dispatch count is what one dispatch costs on this adapter.
 */
async function dispatchFloor(data: Dataset, timing: TimingOptions): Promise<void> {
  for (const batchNorm of [true, false]) {
    const c: AitmCase = { name: `train B=16 ${batchNorm ? 'bn' : 'no-bn'}`, mode: 'train', batch: 16, batchNorm };
    const r = await oursCase(c, data, 'webgpu', timing);
    const ms = (c.batch / r.samplesPerS) * 1000;
    const d = r.perStep!.dispatches;
    console.log(`ours-webgpu ${c.name}: ${ms.toFixed(1)} ms/step for ${d} dispatches = ${((ms * 1000) / d).toFixed(0)} us per dispatch`);
  }
}

/** Runs a compiled peer script in its own Node process; null (and why) when it fails. */
function runNodePeer(script: string, args: string[], timeoutS: number): PeerReply | null {
  const path = fileURLToPath(new URL(`./peers/${script}`, import.meta.url));
  // The child's progress lines (stderr) show as they come; its last stdout line is the reply.
  const res = spawnSync(process.execPath, [path, ...args], {
    encoding: 'utf8',
    timeout: timeoutS * 1000,
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 << 20,
  });
  if (res.error || res.status !== 0) {
    console.warn(`peer ${script} ${args[0]} failed: ${res.error?.message ?? `exit ${res.status ?? res.signal}`}`);
    return null;
  }
  const lastLine = res.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(lastLine) as PeerReply;
  } catch {
    console.warn(`peer ${script} printed no JSON: ${lastLine.slice(0, 200)}`);
    return null;
  }
}

/**
 * PyTorch on the CPU at `threads` threads: torch.set_num_threads(threads) in the script and
 * OPENBLAS_NUM_THREADS (and OMP_NUM_THREADS) the same. Without OpenBLAS torch falls back to
 * the reference BLAS (slow but correct); with it, this CPU needs its core type named.
 */
function torchCpu(spec: PeerSpec, threads: number, openBlas: boolean): CpuColumn {
  const key = torchCpuKey(threads);
  console.log(`${key}: ${openBlas ? 'OpenBLAS (libopenblas0-pthread)' : 'reference BLAS (install libopenblas0-pthread for OpenBLAS)'}`);
  const reply = runPython('torch_aitm.py', { ...spec, threads }, spec.deadlineS + 60, torchEnv(threads, openBlas)) as PeerReply | null;
  if (reply?.note) console.log(`${key}: ${reply.note}`);
  let note: string | null = reply === null ? 'torch_aitm.py failed (see the warning above)' : null;
  if (reply?.threads !== undefined && reply.threads !== threads) note = `asked for ${threads} threads, torch runs ${reply.threads}`;
  else if (reply !== null && !openBlas) note = 'reference BLAS (libopenblas0-pthread is not installed)';
  return { values: new Map(Object.entries(reply?.results ?? {})), note };
}

export async function runAitmBench(opts: SuiteOptions): Promise<AitmRow[]> {
  const list = aitmCases();
  const plan = plans(opts.quick);
  const rows = Math.max(...BATCHES);
  const { data } = generateSynthetic({ rows, worldSeed: 1, sampleSeed: 2, fields: SHAPE.fields, vocab: SHAPE.vocab, embedDim: SHAPE.embedDim });
  const dataPath = join(tmpdir(), `aitm-bench-${process.pid}.bin`);
  writeBatchFile(dataPath, { ids: data.sparse, labels: data.labels });
  try {
    await T.setBackend('webgpu');
    const gpu = await ours('webgpu', 'ours-webgpu', list, data, plan['ours-webgpu']);
    await dispatchFloor(data, plan['ours-webgpu'].timing);
    // Our device would sit idle while the tfjs child uses the same adapter: release it.
    T.disposeWebGpu();
    await T.setBackend('cpu');
    const cpu = await ours('cpu', 'ours-cpu', list, data, plan['ours-cpu']);
    const wasm = await oursWasm(list, data, plan['ours-wasm']);

    const spec = (p: Plan): PeerSpec => ({
      data: dataPath,
      rows,
      shape: SHAPE,
      // Cheapest first, so a time limit drops the slowest cases (tfjs on the CPU).
      cases: [...list].sort((a, b) => Number(a.mode === 'train') - Number(b.mode === 'train') || a.batch - b.batch),
      budgetMs: p.timing.budgetMs,
      rounds: p.timing.rounds,
      maxReps: p.timing.maxReps,
      deadlineS: p.limitS,
      batches: [...p.batches],
      ...(p.few ? { few: p.few } : {}),
    });
    // onnxruntime runs our own ONNX export of the same model (initial weights: the timing does not care).
    const onnx: Record<'bn' | 'no-bn', string> = { bn: join(tmpdir(), `aitm-bench-${process.pid}-bn.onnx`), 'no-bn': join(tmpdir(), `aitm-bench-${process.pid}-no-bn.onnx`) };
    for (const batchNorm of [true, false]) {
      const config = configFor(data, batchNorm);
      const model = buildModel(config);
      writeFileSync(onnx[batchNorm ? 'bn' : 'no-bn'], await onnxBytes(model.eval(), config));
      model.dispose();
    }
    const featureNames = data.schema.features.map((f) => f.name);
    const openBlas = hasOpenBlas();
    const torch = new Map(THREAD_COUNTS.map((n) => [n, torchCpu(spec(plan['torch-cpu']), n, openBlas)] as const));
    // PyTorch on CUDA where it has it (bench/gpu.sh on a GPU machine): eager mode, synchronised per step.
    const torchCuda = process.env.AITM_TORCH_CUDA === '1' ? (runPython('torch_aitm.py', spec(plan['torch-cpu']), plan['torch-cpu'].limitS + 120, { AITM_TORCH_DEVICE: 'cuda' }) as PeerReply | null) : null;
    const tfGpu = runNodePeer('tfjs_aitm.js', ['webgpu', JSON.stringify(spec(plan['tfjs-webgpu']))], plan['tfjs-webgpu'].limitS + 120);
    const tfCpu = runNodePeer('tfjs_aitm.js', ['cpu', JSON.stringify(spec(plan['tfjs-cpu']))], plan['tfjs-cpu'].limitS + 300);
    const tfWasm = runNodePeer('tfjs_aitm.js', ['wasm', JSON.stringify(spec(plan['tfjs-wasm']))], plan['tfjs-wasm'].limitS + 300);
    const ortCpu = runNodePeer('ort_aitm.js', [JSON.stringify({ ...spec(plan['onnxruntime-cpu']), onnx, featureNames })], plan['onnxruntime-cpu'].limitS + 120);
    const peer = (r: PeerReply | null, name: string) => r?.results[name] ?? null;
    const result: AitmRow[] = list.map((c) => {
      const cpuColumns: Record<string, number | null> = {};
      const notes: Record<string, string> = {};
      for (const n of THREAD_COUNTS) {
        for (const [key, col] of [[oursWasmKey(n), wasm.get(n)], [torchCpuKey(n), torch.get(n)]] as const) {
          cpuColumns[key] = col?.values.get(c.name) ?? null;
          // A column-wide note (skipped, other thread count) on every row; a time limit shows as null alone.
          if (col?.note) notes[key] = col.note;
        }
      }
      return {
        case: c.name,
        unit: 'samples/s',
        ours: gpu.get(c.name)?.samplesPerS ?? null,
        peers: {
          'ours-cpu': cpu.get(c.name)?.samplesPerS ?? null,
          'tfjs-webgpu': peer(tfGpu, c.name),
          'tfjs-wasm': c.mode === 'train' ? peer(tfWasm, c.name) : null,
          'tfjs-cpu': peer(tfCpu, c.name),
          'onnxruntime-cpu': c.mode === 'infer' ? peer(ortCpu, c.name) : null,
          ...cpuColumns,
          ...(torchCuda ? { 'torch-cuda': peer(torchCuda, c.name) } : {}),
        },
        ...(Object.keys(notes).length > 0 ? { notes } : {}),
        perStep: gpu.get(c.name)?.perStep ?? null,
      };
    });
    printPerStep(result);
    if (opts.quick) console.log('\n--quick: ours-cpu, tfjs-webgpu and tfjs-wasm skip B=8192, tfjs-cpu runs B=512 only (one step); skipped cases are null');
    return result;
  } finally {
    rmSync(dataPath, { force: true });
    for (const suffix of ['bn', 'no-bn']) rmSync(join(tmpdir(), `aitm-bench-${process.pid}-${suffix}.onnx`), { force: true });
  }
}

/** Our WebGPU work per step beside the table: what bounds a step on a software adapter. */
function printPerStep(rows: AitmRow[]): void {
  console.log('\nours-webgpu work per step (dispatches / queue submits / host syncs):');
  const f = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));
  for (const r of rows) {
    if (r.perStep) console.log(`  ${r.case.padEnd(20)} ${f(r.perStep.dispatches)} / ${f(r.perStep.submits)} / ${f(r.perStep.syncs)}`);
  }
  for (const r of rows) {
    const prof = r.perStep?.gpuMsByOp;
    if (!prof || !/B=2048/.test(r.case)) continue;
    const total = prof.reduce((a, p) => a + p.ms, 0);
    console.log(`\nours-webgpu ${r.case}: GPU time per step by op (${total.toFixed(1)} ms in all)`);
    for (const p of prof.slice(0, 10)) console.log(`  ${p.op.padEnd(22)} ${f(p.dispatches).padStart(4)} x  ${p.ms.toFixed(2).padStart(6)} ms  ${((100 * p.ms) / total).toFixed(0).padStart(3)}%`);
  }
}

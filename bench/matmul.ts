// Matmul throughput (GFLOPS) of our WebGPU bmm against tfjs-backend-webgpu on the same
// adapter, and of our wasm bmm at 1 and 2 threads against PyTorch on the CPU at the same
// thread counts: square sizes, and the products one AITM training step runs through its
// Linear layers (forward x @ W^T and the two backward products).

import * as T from '@aitm/tensor';
import { Deadline, runPython, timeIt, timingFor, type Row, type SuiteOptions } from './common.js';
import { loadTfjsWebGpu } from './peers/tfjs.js';
import { hasOpenBlas, oursWasmKey, releaseWasm, THREAD_COUNTS, torchCpuKey, torchEnv, useWasmThreads } from './threads.js';

interface MatmulCase {
  name: string;
  batch: number;
  m: number;
  n: number;
  k: number;
  /** op(A) is A^T: A is stored [k, m]. */
  transA: boolean;
  /** op(B) is B^T: B is stored [n, k]. */
  transB: boolean;
}

const flops = (c: MatmulCase): number => 2 * c.batch * c.m * c.n * c.k;

function cases(quick: boolean): MatmulCase[] {
  // tfjs takes about 30 s per 2048 product on llvmpipe: too long for --quick.
  const square = (quick ? [256, 512, 1024] : [256, 512, 1024, 2048]).map((s) => ({
    name: `square ${s}`,
    batch: 1,
    m: s,
    n: s,
    k: s,
    transA: false,
    transB: false,
  }));
  // A Linear(64 -> 32) layer on a batch of `rows`: forward y = x @ W^T (W stored [32, 64]),
  // then dX = dY @ W and dW = dY^T @ X, with no transpose materialised.
  const linear = (quick ? [512, 8192] : [512, 2048, 8192]).flatMap((rows) => [
    { name: `linear fwd ${rows}x64 @ (32x64)^T`, batch: 1, m: rows, n: 32, k: 64, transA: false, transB: true },
    { name: `linear dX ${rows}x32 @ 32x64`, batch: 1, m: rows, n: 64, k: 32, transA: false, transB: false },
    { name: `linear dW (${rows}x32)^T @ ${rows}x64`, batch: 1, m: 32, n: 64, k: rows, transA: true, transB: false },
  ]);
  return [...square, ...linear];
}

function storedShapes(c: MatmulCase): [number[], number[]] {
  return [c.transA ? [c.batch, c.k, c.m] : [c.batch, c.m, c.k], c.transB ? [c.batch, c.n, c.k] : [c.batch, c.k, c.n]];
}

type Tf = Awaited<ReturnType<typeof loadTfjsWebGpu>>;

/** Our bmm on WebGPU: GFLOPS of one case. */
async function ours(backend: Awaited<ReturnType<typeof T.initWebGpu>>, c: MatmulCase, quick: boolean): Promise<number> {
  const [aShape, bShape] = storedShapes(c);
  const a = T.rand(aShape, { backend: 'webgpu', dtype: 'float32' });
  const b = T.rand(bShape, { backend: 'webgpu', dtype: 'float32' });
  let last: T.Tensor | null = null;
  const run = (): void => {
    const y = T.bmm(a, b, c.transA, c.transB);
    last?.dispose();
    last = y;
  };
  // Reading 4 bytes of the last result waits for every dispatch before it.
  const sync = async (): Promise<void> => {
    await backend.runtime.read((last as T.Tensor).storage.handle as Parameters<typeof backend.runtime.read>[0], 4);
  };
  const s = await timeIt(run, sync, timingFor(quick));
  (last as T.Tensor | null)?.dispose();
  a.dispose();
  b.dispose();
  return flops(c) / s / 1e9;
}

/** Our bmm on the wasm backend at the thread count set: GFLOPS of one case. */
async function oursWasm(c: MatmulCase, quick: boolean): Promise<number> {
  const wasm = T.wasmBackend();
  if (wasm === null) throw new Error('matmul: the wasm backend is not started');
  const [aShape, bShape] = storedShapes(c);
  const a = T.rand(aShape, { backend: 'wasm', dtype: 'float32' });
  const b = T.rand(bShape, { backend: 'wasm', dtype: 'float32' });
  let last: T.Tensor | null = null;
  let sink = 0;
  const run = (): void => {
    const y = T.bmm(a, b, c.transA, c.transB);
    last?.dispose();
    last = y;
  };
  // The wasm product is done when bmm returns; the round still ends, as ours on WebGPU does,
  // with a read of 4 bytes of the last result (synchronous here: the memory is the host's).
  const sync = async (): Promise<void> => {
    sink += wasm.typed((last as T.Tensor).storage.handle as T.WasmBuffer, 'float32')[0]!;
  };
  const s = await timeIt(run, sync, timingFor(quick));
  (last as T.Tensor | null)?.dispose();
  a.dispose();
  b.dispose();
  if (!Number.isFinite(sink)) throw new Error('matmul: the wasm product read back a non-finite value');
  return flops(c) / s / 1e9;
}

interface CpuColumn {
  values: Map<string, number>;
  /** Why the column's values are null, or (with everyRow) how it ran where that differs from what was asked. */
  note: string | null;
  everyRow?: boolean;
}

/** Our wasm bmm over every case at each thread count, one count after the other. */
async function oursWasmColumns(list: MatmulCase[], quick: boolean, limitS: number): Promise<Map<number, CpuColumn>> {
  const out = new Map<number, CpuColumn>();
  for (const threads of THREAD_COUNTS) {
    const col: CpuColumn = { values: new Map(), note: await useWasmThreads(threads) };
    out.set(threads, col);
    if (col.note !== null) {
      console.warn(`matmul: ${col.note}`);
      continue;
    }
    const deadline = new Deadline(limitS);
    for (const c of list) {
      if (deadline.passed) {
        col.note = `time limit (${limitS} s) reached at '${c.name}'`;
        console.warn(`matmul ${oursWasmKey(threads)}: ${col.note}`);
        break;
      }
      const g = await oursWasm(c, quick);
      col.values.set(c.name, g);
      console.log(`${oursWasmKey(threads)} ${c.name}: ${g.toFixed(2)} GFLOPS`);
    }
  }
  await releaseWasm();
  return out;
}

/** tf.matMul on tfjs's WebGPU backend: GFLOPS of one case. */
async function tfjsWebGpu(tf: Tf, c: MatmulCase, quick: boolean): Promise<number> {
  // tfjs batches only 3-D operands; a batch of 1 is passed as plain matrices.
  const [aShape, bShape] = storedShapes(c).map((s) => (c.batch === 1 ? s.slice(1) : s)) as [number[], number[]];
  const a = tf.randomUniform(aShape);
  const b = tf.randomUniform(bShape);
  let last: ReturnType<typeof tf.matMul> | null = null;
  const run = (): void => {
    const y = tf.matMul(a, b, c.transA, c.transB);
    last?.dispose();
    last = y;
  };
  const sync = async (): Promise<void> => {
    const y = last as ReturnType<typeof tf.matMul>;
    const one = tf.slice(y, y.shape.map(() => 0), y.shape.map(() => 1));
    await one.data();
    one.dispose();
  };
  const s = await timeIt(run, sync, timingFor(quick));
  (last as ReturnType<typeof tf.matMul> | null)?.dispose();
  a.dispose();
  b.dispose();
  return flops(c) / s / 1e9;
}

interface TorchReply {
  threads: number;
  results: Record<string, number>;
}

/**
 * torch.matmul at `threads` threads: torch.set_num_threads and OPENBLAS_NUM_THREADS both
 * set to it (Debian's torch multiplies with OpenBLAS when libopenblas0-pthread is installed).
 */
function torchCpu(list: MatmulCase[], quick: boolean, timeoutS: number, threads: number, openBlas: boolean): CpuColumn {
  const t = timingFor(quick);
  const arg = {
    cases: list.map((c) => ({ case: c.name, batch: c.batch, m: c.m, n: c.n, k: c.k, transA: c.transA, transB: c.transB })),
    budget_s: t.budgetMs / 1000,
    rounds: t.rounds,
    threads,
  };
  const reply = runPython('torch_matmul.py', arg, timeoutS, torchEnv(threads, openBlas)) as TorchReply | null;
  const key = torchCpuKey(threads);
  let note: string | null = reply === null ? 'torch_matmul.py failed (see the warning above)' : null;
  if (reply) {
    console.log(`${key}: torch ${reply.threads} thread(s), OPENBLAS_NUM_THREADS=${threads}${openBlas ? '' : ' (reference BLAS: libopenblas0-pthread is not installed)'}`);
    if (reply.threads !== threads) note = `asked for ${threads} threads, torch runs ${reply.threads}`;
    else if (!openBlas) note = 'reference BLAS (libopenblas0-pthread is not installed)';
  }
  return { values: new Map(Object.entries(reply?.results ?? {})), note, everyRow: reply !== null };
}

export async function runMatmulBench(opts: SuiteOptions): Promise<Row[]> {
  const list = cases(opts.quick);
  // --quick is bounded (about 4.5 minutes at worst, well under 2 on a quiet machine): the GPU
  // part, each torch run and each wasm thread count get a share.
  const limit = opts.quick ? 100 : 1200;
  const openBlas = hasOpenBlas();
  const torch = new Map(THREAD_COUNTS.map((n) => [n, torchCpu(list, opts.quick, opts.quick ? 60 : 600, n, openBlas)] as const));
  // Ours on wasm before WebGPU starts, so no llvmpipe thread shares the cores with it.
  const wasm = await oursWasmColumns(list, opts.quick, opts.quick ? 30 : 600);
  const backend = await T.initWebGpu();
  console.log(`adapter: ${backend.runtime.adapter.description} (${backend.runtime.adapter.isSoftware ? 'software' : 'hardware'})`);
  let tf: Tf | null = null;
  try {
    tf = await loadTfjsWebGpu();
  } catch (e) {
    console.warn(`peer tfjs-webgpu unavailable: ${(e as Error).message}`);
  }
  // Ours and tfjs take turns case by case, so both see the same machine load.
  const deadline = new Deadline(limit);
  const rows: Row[] = [];
  for (const c of list) {
    const mine = deadline.passed ? null : await ours(backend, c, opts.quick);
    const peer = tf && !deadline.passed ? await tfjsWebGpu(tf, c, opts.quick) : null;
    if (deadline.passed) console.warn(`matmul: time limit reached at '${c.name}'`);
    const peers: Record<string, number | null> = { 'tfjs-webgpu': peer };
    const notes: Record<string, string> = {};
    for (const [key, col] of THREAD_COUNTS.flatMap((n) => [[oursWasmKey(n), wasm.get(n)], [torchCpuKey(n), torch.get(n)]] as const)) {
      peers[key] = col?.values.get(c.name) ?? null;
      if (col?.note && (col.everyRow || peers[key] === null)) notes[key] = col.note;
    }
    rows.push({ case: c.name, unit: 'GFLOPS', ours: mine, peers, ...(Object.keys(notes).length > 0 ? { notes } : {}) });
  }
  return rows;
}

// Matmul throughput (GFLOPS) of our WebGPU bmm against tfjs-backend-webgpu on the same
// adapter and PyTorch on the CPU: square sizes, and the products one AITM training step
// runs through its Linear layers (forward x @ W^T and the two backward products).

import * as T from '@aitm/tensor';
import { Deadline, runPython, timeIt, timingFor, type Row, type SuiteOptions } from './common.js';
import { loadTfjsWebGpu } from './peers/tfjs.js';

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

function torchCpu(list: MatmulCase[], quick: boolean, timeoutS: number): Map<string, number> {
  const t = timingFor(quick);
  const arg = {
    cases: list.map((c) => ({ case: c.name, batch: c.batch, m: c.m, n: c.n, k: c.k, transA: c.transA, transB: c.transB })),
    budget_s: t.budgetMs / 1000,
    rounds: t.rounds,
  };
  // Debian's torch uses OpenBLAS when libopenblas0-pthread is installed; this CPU needs the
  // core type named, and one BLAS thread avoids oversubscribing torch's own threads.
  const reply = runPython('torch_matmul.py', arg, timeoutS, { OPENBLAS_CORETYPE: 'SkylakeX', OPENBLAS_NUM_THREADS: '1' }) as TorchReply | null;
  if (reply) console.log(`torch-cpu: ${reply.threads} thread(s)`);
  return new Map(Object.entries(reply?.results ?? {}));
}

export async function runMatmulBench(opts: SuiteOptions): Promise<Row[]> {
  const list = cases(opts.quick);
  // --quick must end within 3 minutes: the GPU part and the torch part each get a share.
  const limit = opts.quick ? 100 : 1200;
  const torch = torchCpu(list, opts.quick, opts.quick ? 60 : 600);
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
    rows.push({ case: c.name, unit: 'GFLOPS', ours: mine, peers: { 'tfjs-webgpu': peer, 'torch-cpu': torch.get(c.name) ?? null } });
  }
  return rows;
}

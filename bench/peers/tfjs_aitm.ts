// The AITM of bench/aitm.ts written with TensorFlow.js, timed on one tfjs backend per
// process (each backend gets its own process so their devices and kernels stay apart):
//
//   node bench/dist/peers/tfjs_aitm.js webgpu|wasm|cpu '<PeerSpec JSON>'
//
// Prints a PeerReply JSON as its last line. The model follows torch-rechub's AITM: an
// embedding per field (tf.gather), a bottom MLP per task (dense, batchnorm, relu), an info
// gate MLP, the attention over [own, info], towers with a sigmoid; the loss is the sum of
// task BCEs plus 0.6 * mean(relu(p2 - p1)); Adam is tf.train.adam.

import { fileURLToPath } from 'node:url';
import { runPeerMain, timeIt } from '../common.js';
import { readBatchFile, SHAPE, timeFewSteps, type AitmCase, type PeerReply, type PeerSpec } from '../aitm-cases.js';
import { loadTfjsWebGpu } from './tfjs.js';
import { TfAitm } from './tfjs-aitm-model.js';

type Tf = typeof import('@tensorflow/tfjs');
type T = import('@tensorflow/tfjs').Tensor;

async function loadTf(backend: string): Promise<Tf> {
  if (backend === 'webgpu') return loadTfjsWebGpu();
  if (backend === 'wasm') {
    // tfjs's WebAssembly backend (XNNPACK kernels, SIMD where the runtime has it), its .wasm
    // files read from the package; in Node it runs single-threaded.
    const tf = await import('@tensorflow/tfjs');
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dir = fileURLToPath(new URL('.', import.meta.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')));
    wasm.setWasmPaths(dir.endsWith('/') ? dir : `${dir}/`);
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend failed to start');
    await tf.ready();
    return tf;
  }
  if (backend !== 'cpu') throw new Error(`tfjs_aitm: backend must be webgpu, wasm or cpu, got '${backend}'`);
  const tf = await import('@tensorflow/tfjs');
  if (!(await tf.setBackend('cpu'))) throw new Error('tfjs: the cpu backend failed to start');
  await tf.ready();
  return tf;
}

async function runCase(tf: Tf, c: AitmCase, spec: PeerSpec, all: ReturnType<typeof readBatchFile>, deadlineLeftS: number): Promise<number> {
  const model = new TfAitm(tf, c.batchNorm, tf.getBackend() === 'wasm' && c.mode === 'train' ? 'onehot' : 'gather');
  const ids = all.ids.map((col) => tf.tensor1d(col.subarray(0, c.batch), 'int32'));
  const yHost = new Float32Array(c.batch * SHAPE.tasks);
  for (let i = 0; i < c.batch; i++) for (let t = 0; t < SHAPE.tasks; t++) yHost[i * SHAPE.tasks + t] = all.labels[t]![i]!;
  const y = tf.tensor2d(yHost, [c.batch, SHAPE.tasks]);
  const optimizer = tf.train.adam(SHAPE.lr);
  let last: T | null = null;
  const step =
    c.mode === 'train'
      ? (): void => {
          tf.tidy(() => {
            optimizer.minimize(() => model.loss(model.forward(ids, true), y, SHAPE.alpha), false, model.trainable);
          });
        }
      : (): void => {
          const p = tf.tidy(() => model.forward(ids, false));
          last?.dispose();
          last = p;
        };
  // Reading a parameter (training) or the last output (inference) waits for all work before it.
  const sync =
    c.mode === 'train'
      ? async (): Promise<void> => {
          await model.trainable[model.trainable.length - 1]!.data();
        }
      : async (): Promise<void> => {
          await (last as T).data();
        };
  try {
    const seconds =
      spec.few !== undefined
        ? await timeFewSteps(step, sync, spec.few.warm, spec.few.steps, deadlineLeftS)
        : await timeIt(step, sync, { budgetMs: spec.budgetMs, rounds: spec.rounds, maxReps: spec.maxReps });
    return c.batch / seconds;
  } finally {
    (last as T | null)?.dispose();
    optimizer.dispose();
    for (const v of model.trainable) v.dispose();
    for (const m of [...model.bottoms, ...model.gates, ...model.towers]) {
      for (const { bn } of m.hidden) if (bn) tf.dispose([bn.runMean, bn.runVar]);
    }
    for (const t of [...ids, y]) t.dispose();
  }
}

async function main(): Promise<PeerReply> {
  const [backend = '', json = '{}'] = process.argv.slice(2);
  const spec = JSON.parse(json) as PeerSpec;
  const start = performance.now();
  const left = () => spec.deadlineS - (performance.now() - start) / 1000;
  const tf = await loadTf(backend);
  const all = readBatchFile(spec.data, spec.rows, SHAPE.fields, SHAPE.tasks);
  const reply: PeerReply = { results: {}, skipped: [] };
  for (const c of spec.cases) {
    if ((spec.batches && !spec.batches.includes(c.batch)) || left() <= 0) {
      reply.skipped.push(c.name);
      continue;
    }
    const t0 = performance.now();
    reply.results[c.name] = await runCase(tf, c, spec, all, left());
    console.error(`tfjs-${backend} ${c.name}: ${reply.results[c.name]!.toFixed(0)} samples/s (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  return reply;
}

runPeerMain(main);

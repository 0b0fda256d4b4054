// The browser speed page of `pnpm bench browser`: the benchmark's AITM training step
// (bench/aitm-shape.ts, B=2048 with BatchNorm) with our engine and with TensorFlow.js's
// WebGPU backend, one after the other on this page's adapter, each timed after a warm-up
// as steps per wall-clock second with a parameter read closing every timed run.

import * as T from '@aitm/tensor';
import { Adam } from '@aitm/nn';
import { aitmLoss, batchTensors, buildModel, defaultConfig, generateSynthetic, type AitmConfig } from '@aitm/aitm';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { SHAPE } from '../aitm-shape.js';
import { TfAitm } from '../peers/tfjs-aitm-model.js';

const BATCH = 2048;
const WARM = 3;
const STEPS = 10;

declare global {
  interface Window {
    speedResult?: { adapter: string; batch: number; ours: number; tfjs: number };
    speedError?: string;
  }
}

async function timeSteps(step: () => void, sync: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < WARM; i++) step();
  await sync();
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) step();
  await sync();
  return (BATCH * STEPS) / ((performance.now() - t0) / 1000);
}

async function ours(data: ReturnType<typeof generateSynthetic>['data']): Promise<{ rate: number; adapter: string }> {
  await T.setBackend('webgpu');
  const a = T.webGpuAdapter();
  const adapter = a ? [a.vendor, a.architecture, a.description].filter(Boolean).join(', ') : 'none';
  const config = defaultConfig(data.schema, { alpha: SHAPE.alpha }) as AitmConfig;
  config.bottom = { ...config.bottom, dims: [...SHAPE.bottom], batchNorm: true };
  config.towers = config.towers.map((t) => ({ ...t, dims: [...SHAPE.tower], batchNorm: true }));
  const model = buildModel(config);
  const batch = batchTensors(data, Int32Array.from({ length: BATCH }, (_, i) => i), 'webgpu');
  const optimizer = new Adam(model.parameters(), { lr: SHAPE.lr });
  const param = model.parameters()[0]!;
  const step = () =>
    T.tidy(() => {
      aitmLoss(model.forward(batch.inputs), batch.labels, SHAPE.alpha).total.backward();
      optimizer.step();
      optimizer.zeroGrad();
    });
  try {
    return { rate: await timeSteps(step, () => param.data()), adapter };
  } finally {
    optimizer.dispose();
    model.dispose();
    T.disposeWebGpu(); // frees the adapter's device before tfjs takes its own
  }
}

async function tfjs(data: ReturnType<typeof generateSynthetic>['data']): Promise<number> {
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: the webgpu backend failed to start');
  await tf.ready();
  const model = new TfAitm(tf, true);
  const ids = data.sparse.map((col) => tf.tensor1d(col.subarray(0, BATCH), 'int32'));
  const yHost = new Float32Array(BATCH * SHAPE.tasks);
  for (let i = 0; i < BATCH; i++) for (let t = 0; t < SHAPE.tasks; t++) yHost[i * SHAPE.tasks + t] = data.labels[t]![i]!;
  const y = tf.tensor2d(yHost, [BATCH, SHAPE.tasks]);
  const optimizer = tf.train.adam(SHAPE.lr);
  const step = () => tf.tidy(() => void optimizer.minimize(() => model.loss(model.forward(ids, true), y, SHAPE.alpha), false, model.trainable));
  return timeSteps(step, () => model.trainable[model.trainable.length - 1]!.data());
}

async function main() {
  const { data } = generateSynthetic({ rows: BATCH, worldSeed: 1, sampleSeed: 2, fields: SHAPE.fields, vocab: SHAPE.vocab, embedDim: SHAPE.embedDim });
  const o = await ours(data);
  const tfjsRate = await tfjs(data);
  return { adapter: o.adapter, batch: BATCH, ours: o.rate, tfjs: tfjsRate };
}

main().then(
  (r) => {
    window.speedResult = r;
    document.getElementById('out')!.textContent = JSON.stringify(r, null, 2);
  },
  (e: unknown) => (window.speedError = e instanceof Error ? e.message : String(e)),
);

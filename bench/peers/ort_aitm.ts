// The AITM of bench/aitm.ts for inference on onnxruntime-node's CPU execution provider, run
// from our own ONNX export of the same model (`onnxBytes`, what `aitm export --onnx` writes):
//
//   node bench/dist/peers/ort_aitm.js '<PeerSpec JSON with onnx: {bn: FILE, "no-bn": FILE}>'
//
// Prints a PeerReply JSON as its last line. Training cases are skipped (ONNX here is inference).

import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { runPeerMain, timeIt } from '../common.js';
import { readBatchFile, SHAPE, type PeerReply, type PeerSpec } from '../aitm-cases.js';

async function main(): Promise<PeerReply> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as PeerSpec & { onnx: Record<'bn' | 'no-bn', string>; featureNames: string[] };
  const start = performance.now();
  const all = readBatchFile(spec.data, spec.rows, SHAPE.fields, SHAPE.tasks);
  const sessions = {
    bn: await ort.InferenceSession.create(readFileSync(spec.onnx.bn)),
    'no-bn': await ort.InferenceSession.create(readFileSync(spec.onnx['no-bn'])),
  };
  const reply: PeerReply = { results: {}, skipped: [] };
  for (const c of spec.cases) {
    const left = spec.deadlineS - (performance.now() - start) / 1000;
    if (c.mode !== 'infer' || (spec.batches && !spec.batches.includes(c.batch)) || left <= 0) {
      reply.skipped.push(c.name);
      continue;
    }
    const session = sessions[c.batchNorm ? 'bn' : 'no-bn'];
    const feeds: Record<string, ort.Tensor> = {};
    spec.featureNames.forEach((name, f) => {
      feeds[name] = new ort.Tensor('int64', BigInt64Array.from(all.ids[f]!.subarray(0, c.batch), (v) => BigInt(v)), [c.batch]);
    });
    let pending: Promise<unknown> = Promise.resolve();
    // session.run is asynchronous: a step starts one run; the sync waits for the last.
    const step = (): void => {
      const prev = pending;
      pending = prev.then(() => session.run(feeds));
    };
    const seconds = await timeIt(step, async () => void (await pending), { budgetMs: spec.budgetMs, rounds: spec.rounds, maxReps: spec.maxReps });
    reply.results[c.name] = c.batch / seconds;
    console.error(`onnxruntime-cpu ${c.name}: ${reply.results[c.name]!.toFixed(0)} samples/s`);
  }
  return reply;
}

runPeerMain(main);

import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
globalThis.navigator = { gpu: create([]) };
const tf = await import('@tensorflow/tfjs');
await import('@tensorflow/tfjs-backend-webgpu');
console.log(await tf.setBackend('webgpu'), tf.getBackend());
delete globalThis.navigator;
for (const n of [256, 512, 1024]) {
  const a = tf.randomUniform([n, n]), b = tf.randomUniform([n, n]);
  await tf.matMul(a, b).data();
  const reps = n >= 1024 ? 3 : 10;
  const t0 = performance.now();
  let c;
  for (let i = 0; i < reps; i++) { if (c) c.dispose(); c = tf.matMul(a, b); }
  await tf.slice(c, [0, 0], [1, 1]).data();
  const dt = (performance.now() - t0) / reps / 1000;
  console.log(n, (2 * n ** 3 / dt / 1e9).toFixed(2), 'GFLOPS');
}
process.exit(0);

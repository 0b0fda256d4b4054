// An MLP on a toy set (two interleaved half-moons), fed by a DataLoader, as one would write it
// in PyTorch: a Module with layers as fields, Adam, BCE, a seeded shuffle. Prints the training
// accuracy. Run: node examples/dist/mlp-dataloader.js

import { Generator, initBackend, tensor, tidy, type Tensor } from '@aitm/tensor';
import { Adam, bceWithLogits, DataLoader, Linear, Module, TensorDataset } from '@aitm/nn';

await initBackend();

/** n points of two half-moons (label 0 and 1) with a little noise, seeded. */
function moons(n: number, g: Generator): { x: number[][]; y: number[][] } {
  const x: number[][] = [];
  const y: number[][] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    const t = Math.PI * g.uniform();
    const [px, py] = label === 0 ? [Math.cos(t), Math.sin(t)] : [1 - Math.cos(t), 0.5 - Math.sin(t)];
    x.push([px + 0.1 * g.normal(), py + 0.1 * g.normal()]);
    y.push([label]);
  }
  return { x, y };
}

class Net extends Module {
  fc1 = new Linear(2, 32);
  fc2 = new Linear(32, 32);
  out = new Linear(32, 1);
  forward(x: Tensor): Tensor {
    return this.out.forward(this.fc2.forward(this.fc1.forward(x).relu()).relu());
  }
}

const g = new Generator(0);
const { x, y } = moons(512, g);
const data = new TensorDataset(tensor(x, { backend: 'cpu' }), tensor(y, { backend: 'cpu' }));
const loader = new DataLoader(data, { batchSize: 64, shuffle: true, generator: g });
const model = new Net();
const opt = new Adam(model.parameters(), { lr: 0.01 });

for (let epoch = 0; epoch < 60; epoch++) {
  for (const [xb, yb] of loader) {
    tidy(() => {
      opt.zeroGrad();
      bceWithLogits(model.forward(xb!), yb!).backward();
      opt.step();
    });
    xb!.dispose();
    yb!.dispose();
  }
}

// Accuracy on the training set: logit > 0 means label 1.
const all = tensor(x);
const logits = await tidy(() => model.forward(all)).data();
const correct = y.filter((label, i) => (logits[i]! > 0 ? 1 : 0) === label[0]).length;
console.log(`parameters ${model.namedParameters().map(([name]) => name).join(' ')}`);
console.log(`accuracy ${(correct / y.length).toFixed(3)}`);

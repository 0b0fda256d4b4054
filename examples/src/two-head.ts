// A custom two-head model with its submodules as fields (registered on assignment, as in
// PyTorch): a shared trunk, a click head and a purchase head, trained on a toy funnel where a
// purchase needs a click, then saved as safetensors with PyTorch names.
// Run: node examples/dist/two-head.js

import { Generator, initBackend, mean, sigmoid, tensor, tidy, type Tensor } from '@aitm/tensor';
import { Adam, bce, Linear, Module } from '@aitm/nn';
import { loadCheckpoint, saveCheckpoint } from '@aitm/nn/node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

await initBackend();

class TwoHeads extends Module {
  trunk = new Linear(4, 16);
  click = new Linear(16, 1);
  purchase = new Linear(16, 1);
  forward(x: Tensor): { pClick: Tensor; pPurchase: Tensor } {
    const h = this.trunk.forward(x).relu();
    const pClick = sigmoid(this.click.forward(h));
    // A purchase needs a click: P(purchase) = P(click) * P(purchase | click).
    return { pClick, pPurchase: pClick.mul(sigmoid(this.purchase.forward(h))) };
  }
}

// A toy funnel: click when x0 + x1 > 0, purchase when it clicked and x2 > 0.5.
const g = new Generator(1);
const rows = Array.from({ length: 1024 }, () => [g.normal(), g.normal(), g.normal(), g.normal()]);
const clicks = rows.map((r) => [r[0]! + r[1]! > 0 ? 1 : 0]);
const buys = rows.map((r, i) => [clicks[i]![0]! === 1 && r[2]! > 0.5 ? 1 : 0]);
const x = tensor(rows);
const yClick = tensor(clicks);
const yBuy = tensor(buys);

const model = new TwoHeads();
const opt = new Adam(model.parameters(), { lr: 0.02 });
let last = 0;
for (let step = 0; step < 300; step++) {
  const loss = tidy(() => {
    opt.zeroGrad();
    const { pClick, pPurchase } = model.forward(x);
    const l = bce(pClick, yClick).add(bce(pPurchase, yBuy));
    l.backward();
    opt.step();
    return l;
  });
  if (step === 299) last = await loss.item();
  loss.dispose();
}

// Save, load into a fresh model, and check the two give the same predictions.
const dir = mkdtempSync(join(tmpdir(), 'two-heads-'));
try {
  await saveCheckpoint(model, join(dir, 'model.safetensors'));
  const copy = new TwoHeads();
  await loadCheckpoint(copy, join(dir, 'model.safetensors'));
  const a = await tidy(() => model.forward(x).pPurchase).data();
  const b = await tidy(() => copy.forward(x).pPurchase).data();
  const same = a.every((v, i) => v === b[i]);
  const accuracy = await tidy(() => mean(model.forward(x).pClick.gt(0.5).eq(yClick))).item();
  console.log(`parameters ${model.namedParameters().map(([name]) => name).join(' ')}`);
  console.log(`loss ${last.toFixed(4)} click accuracy ${accuracy.toFixed(3)} reloaded identical ${same}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

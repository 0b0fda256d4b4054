// Module, containers and state dicts: PyTorch's dotted names and order, train/eval, and
// loadStateDict's all-or-nothing validation with one error naming every bad key.

import { describe, expect, it } from 'vitest';
import { add, memory, mul, ones, sum, tensor, zeros, type Tensor } from '@aitm/tensor';
import { BatchNorm1d, Embedding, Linear, Module, ModuleDict, ModuleList, ReLU, Sequential, SGD } from '../src/node.js';

class Block extends Module {
  readonly scale = this.registerParameter('scale', ones([2]));
  readonly fc = this.registerModule('fc', new Linear(2, 2));
  readonly bn = this.registerModule('bn', new BatchNorm1d(2));
  readonly counter = this.registerBuffer('counter', zeros([1]), { persistent: false });
  forward(x: Tensor): Tensor {
    return this.bn.forward(this.fc.forward(mul(x, this.scale)));
  }
}

class Net extends Module {
  readonly bottoms = this.registerModule('bottoms', new ModuleList([new Block(), new Block()]));
  readonly heads = this.registerModule('heads', new ModuleDict({ ctr: new Linear(2, 1), cvr: new Linear(2, 1) }));
  forward(x: Tensor): Tensor {
    return this.heads.get('ctr').forward(this.bottoms.at(0).forward(x));
  }
}

describe('Module names', () => {
  it('gives PyTorch dotted names in PyTorch order (own parameters, buffers, then children)', () => {
    const net = new Net();
    expect(net.namedParameters().map(([k]) => k)).toEqual([
      'bottoms.0.scale',
      'bottoms.0.fc.weight',
      'bottoms.0.fc.bias',
      'bottoms.0.bn.weight',
      'bottoms.0.bn.bias',
      'bottoms.1.scale',
      'bottoms.1.fc.weight',
      'bottoms.1.fc.bias',
      'bottoms.1.bn.weight',
      'bottoms.1.bn.bias',
      'heads.ctr.weight',
      'heads.ctr.bias',
      'heads.cvr.weight',
      'heads.cvr.bias',
    ]);
    expect(net.namedBuffers().map(([k]) => k)).toContain('bottoms.0.counter');
    const sd = net.stateDict();
    // Non-persistent buffers stay out of the state dict; num_batches_tracked is in it.
    expect(Object.keys(sd).slice(0, 8)).toEqual([
      'bottoms.0.scale',
      'bottoms.0.fc.weight',
      'bottoms.0.fc.bias',
      'bottoms.0.bn.weight',
      'bottoms.0.bn.bias',
      'bottoms.0.bn.running_mean',
      'bottoms.0.bn.running_var',
      'bottoms.0.bn.num_batches_tracked',
    ]);
    expect(sd['bottoms.0.bn.num_batches_tracked']!.dtype).toBe('int32');
    expect(Object.keys(sd)).not.toContain('bottoms.0.counter');
    Object.values(sd).forEach((t) => t.dispose());
    net.dispose();
  });

  it('rejects duplicate and dotted names', () => {
    class Bad extends Module {
      forward(): void {}
    }
    const m = new Bad();
    m.registerParameter('w', ones([1]));
    expect(() => m.registerBuffer('w', ones([1]))).toThrow(/Bad: 'w' is already registered/);
    expect(() => m.registerModule('a.b', new ReLU())).toThrow(/invalid name 'a.b'/);
    expect(() => m.registerParameter('i', tensor([1], { dtype: 'int32' }))).toThrow(/must be floating-point/);
    m.dispose();
  });

  it('lists a shared parameter once, like PyTorch', () => {
    const shared = new Linear(2, 2);
    const seq = new Sequential(shared, new ReLU(), shared);
    expect(seq.namedParameters().map(([k]) => k)).toEqual(['0.weight', '0.bias']);
    seq.dispose();
  });

  it('parameters require grad and survive a tidy scope around construction', async () => {
    const { tidy } = await import('@aitm/tensor');
    const lin = tidy(() => new Linear(3, 2));
    expect(lin.parameters().every((p) => p.requiresGrad && !p.isDisposed)).toBe(true);
    lin.dispose();
  });
});

describe('train / eval', () => {
  it('propagates to every descendant', () => {
    const net = new Net();
    expect(net.namedModules().every(([, m]) => m.training)).toBe(true);
    net.eval();
    expect(net.namedModules().some(([, m]) => m.training)).toBe(false);
    net.train();
    expect(net.bottoms.at(1).bn.training).toBe(true);
    net.dispose();
  });
});

describe('stateDict / loadStateDict', () => {
  it('round-trips between two models, keeping tensor identities', () => {
    const a = new Net();
    const b = new Net();
    const w = b.bottoms.at(0).fc.weight;
    const sd = a.stateDict();
    b.loadStateDict(sd);
    expect(b.bottoms.at(0).fc.weight).toBe(w);
    expect([...w.dataSync()]).toEqual([...a.bottoms.at(0).fc.weight.dataSync()]);
    // The loaded values are copies: disposing the state dict does not affect b.
    Object.values(sd).forEach((t) => t.dispose());
    expect(w.dataSync().length).toBe(4);
    a.dispose();
    b.dispose();
  });

  it('names every missing, unexpected and mis-shaped key in one error and changes nothing', () => {
    const net = new Net();
    const before = net.stateEntries().map(([, t]) => [...t.dataSync()]);
    const sd = net.stateDict();
    sd['heads.ctr.weight']!.dispose();
    delete sd['heads.ctr.weight'];
    sd['bottoms.1.bn.running_var']!.dispose();
    delete sd['bottoms.1.bn.running_var'];
    sd['extra.thing'] = ones([1]);
    sd['bottoms.0.fc.weight']!.dispose();
    sd['bottoms.0.fc.weight'] = ones([3, 2]);
    sd['bottoms.0.bn.running_mean']!.dispose();
    sd['bottoms.0.bn.running_mean'] = zeros([2], { dtype: 'float64' }); // fine: floats are cast
    sd['bottoms.0.bn.num_batches_tracked']!.dispose();
    sd['bottoms.0.bn.num_batches_tracked'] = zeros([]); // float into an int32 buffer
    let msg = '';
    try {
      net.loadStateDict(sd);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain('loadStateDict: error(s) in loading the state dict for Net:');
    expect(msg).toContain('Missing key(s) in state_dict: "bottoms.1.bn.running_var", "heads.ctr.weight".');
    expect(msg).toContain('Unexpected key(s) in state_dict: "extra.thing".');
    expect(msg).toContain(
      'size mismatch for bottoms.0.fc.weight: copying a param with shape [3,2] from checkpoint, the shape in current model is [2,2]',
    );
    expect(msg).toContain('dtype mismatch for bottoms.0.bn.num_batches_tracked: the checkpoint holds floats, the model int32');
    expect(net.stateEntries().map(([, t]) => [...t.dataSync()])).toEqual(before);

    // strict: false ignores missing/unexpected keys but never a size mismatch.
    expect(() => net.loadStateDict(sd, { strict: false })).toThrow(/size mismatch for bottoms\.0\.fc\.weight/);
    sd['bottoms.0.fc.weight']!.dispose();
    delete sd['bottoms.0.fc.weight'];
    sd['bottoms.0.bn.num_batches_tracked']!.dispose();
    sd['bottoms.0.bn.num_batches_tracked'] = tensor(7, { dtype: 'int32' });
    const r = net.loadStateDict(sd, { strict: false });
    expect(r.missingKeys).toEqual(['bottoms.0.fc.weight', 'bottoms.1.bn.running_var', 'heads.ctr.weight']);
    expect(r.unexpectedKeys).toEqual(['extra.thing']);
    expect(net.bottoms.at(0).bn.numBatchesTracked!.dataSync()[0]).toBe(7);
    Object.values(sd).forEach((t) => t.dispose());
    net.dispose();
  });

  it('casts float64 values into a float32 model', () => {
    const lin = new Linear(2, 1);
    lin.loadStateDict({ weight: tensor([[0.1, 0.2]], { dtype: 'float64' }), bias: tensor([0.3], { dtype: 'float64' }) });
    expect(lin.weight.dtype).toBe('float32');
    expect([...lin.weight.dataSync()]).toEqual([Math.fround(0.1), Math.fround(0.2)]);
    lin.dispose();
  });
});

describe('containers', () => {
  it('ModuleList, ModuleDict and Sequential index, iterate and refuse forward where PyTorch does', () => {
    const list = new ModuleList([new ReLU(), new Linear(1, 1)]);
    expect(list.length).toBe(2);
    expect(list.at(-1)).toBeInstanceOf(Linear);
    expect(() => list.at(2)).toThrow(/index 2 is out of range for 2 modules/);
    expect(() => list.forward()).toThrow(/ModuleList has no forward/);
    expect([...list].length).toBe(2);
    const dict = new ModuleDict({ b: new ReLU(), a: new ReLU() });
    expect(dict.keys()).toEqual(['b', 'a']);
    expect(() => dict.get('c')).toThrow(/no module 'c' \(keys: b, a\)/);
    const seq = new Sequential(new Linear(2, 2), new ReLU());
    const x = tensor([[1, -1]]);
    const y = seq.forward(x);
    expect(y.shape).toEqual([1, 2]);
    expect(seq.at(-1)).toBeInstanceOf(ReLU);
    expect(() => seq.at(2)).toThrow(/Sequential: index 2 is out of range for 2 modules/);
    expect([...seq.namedParameters()].map(([name]) => name)).toEqual(['0.weight', '0.bias']);
    x.dispose();
    y.dispose();
    list.dispose();
    seq.dispose();
  });

  it('dispose frees every parameter, buffer and gradient', () => {
    const start = memory().tensors;
    const net = new Net();
    const grad = ones([2]);
    net.bottoms.at(0).scale.grad = grad;
    net.dispose();
    expect(memory().tensors).toBe(start);
    expect(net.bottoms.at(0).scale.isDisposed).toBe(true);
  });
});

describe('registration on assignment (PyTorch habit)', () => {
  // A custom two-head model written as in PyTorch: fields only, no register* calls.
  class TwoHeads extends Module {
    emb = new Embedding(100, 8);
    scale = ones([8]).requireGrad(); // a float leaf that requires grad: nn.Parameter
    ctr: Linear;
    cvr: Linear;
    notAParam = zeros([2]); // a plain tensor stays a plain field, as in PyTorch
    constructor() {
      super();
      this.ctr = new Linear(8, 1);
      this.cvr = new Linear(8, 1);
    }
    forward(ids: Tensor): Tensor[] {
      const h = mul(this.emb.forward(ids), this.scale);
      return [this.ctr.forward(h), this.cvr.forward(h)];
    }
  }

  it('registers field-assigned modules and parameters in assignment order, like PyTorch', () => {
    const m = new TwoHeads();
    expect(m.namedParameters().map(([k]) => k)).toEqual(['scale', 'emb.weight', 'ctr.weight', 'ctr.bias', 'cvr.weight', 'cvr.bias']);
    expect(m.parameters()).toHaveLength(6);
    expect(m.namedChildren().map(([k]) => k)).toEqual(['emb', 'ctr', 'cvr']);
    expect(m.stateEntries()).toHaveLength(6);
    expect(m.namedBuffers()).toEqual([]);
    // The optimizer sees them: a step moves every head.
    const before = m.cvr.weight.dataSync().slice();
    const opt = new SGD(m.parameters(), { lr: 0.1 });
    const ids = tensor([1, 2, 3], { dtype: 'int32' });
    const [a, b] = m.forward(ids);
    add(sum(a!), sum(b!)).backward();
    opt.step();
    expect(m.cvr.weight.dataSync()).not.toEqual(before);
    m.notAParam.dispose();
    m.dispose();
  });

  it('replaces a child, a parameter or a buffer assigned again under the same name', () => {
    class M extends Module {
      fc = new Linear(2, 2);
      w = zeros([2]).requireGrad();
      constructor() {
        super();
        this.registerBuffer('stat', zeros([2]));
      }
      forward(): void {}
    }
    const m = new M();
    const old = m.fc;
    m.fc = new Linear(2, 3);
    expect(m.namedChildren()).toEqual([['fc', m.fc]]);
    const w2 = ones([2]).requireGrad();
    m.w = w2;
    expect(m.namedParameters().find(([k]) => k === 'w')![1]).toBe(w2);
    (m as unknown as { stat: Tensor }).stat = ones([2]);
    expect(m.namedBuffers()[0]![1].dataSync()).toEqual(new Float32Array([1, 1]));
    expect(m.stateEntries().map(([k]) => k)).toEqual(['w', 'stat', 'fc.weight', 'fc.bias']);
    old.dispose();
    m.dispose();
  });

  it('keeps explicit registration: a value registered under its PyTorch name is not registered again under the field name', () => {
    class Explicit extends Module {
      readonly runningMean = this.registerBuffer('running_mean', zeros([2]));
      readonly weight = this.registerParameter('weight', ones([2]));
      readonly embedDict = this.registerModule('embed_dict', new ModuleDict({ a: new Embedding(3, 2) }));
      readonly again: Linear;
      constructor() {
        super();
        this.again = new Linear(2, 2);
        this.registerModule('again', this.again); // explicit after assignment: no error, same name
      }
      forward(): void {}
    }
    const m = new Explicit();
    expect(m.stateEntries().map(([k]) => k)).toEqual(['weight', 'running_mean', 'embed_dict.a.weight', 'again.weight', 'again.bias']);
    m.dispose();
  });

  it('refuses a module assigned over a parameter', () => {
    class P extends Module {
      w = ones([1]).requireGrad();
      forward(): void {}
    }
    const m = new P();
    expect(() => {
      (m as unknown as { w: unknown }).w = new ReLU();
    }).toThrow(/cannot assign a module to 'w', which is registered as a parameter/);
    m.dispose();
  });
});

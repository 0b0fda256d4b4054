// The AITM of bench/aitm.ts written with TensorFlow.js (no Node: the tfjs child process and
// the browser speed page both build it). It follows torch-rechub's AITM: an embedding per
// field (tf.gather), a bottom MLP per task (dense, batchnorm, relu), an info gate MLP, the
// attention over [own, info], towers with a sigmoid; the loss is the sum of task BCEs plus
// 0.6 * mean(relu(p2 - p1)).

import { SHAPE } from '../aitm-shape.js';

type Tf = typeof import('@tensorflow/tfjs');
type T = import('@tensorflow/tfjs').Tensor;
type T2 = import('@tensorflow/tfjs').Tensor2D;
type Var = import('@tensorflow/tfjs').Variable;
type Scalar = import('@tensorflow/tfjs').Scalar;

/** Dense layers use the kernel layout of tf.layers.dense ([in, out]) and its fused matMul. */
interface Dense {
  w: Var;
  b: Var;
}
interface BatchNorm {
  gamma: Var;
  beta: Var;
  runMean: Var;
  runVar: Var;
}
interface Mlp {
  hidden: { dense: Dense; bn: BatchNorm | null }[];
  out: Dense | null;
}
interface Attention {
  q: Var;
  k: Var;
  v: Var;
}

const BN_EPS = 1e-5;
const BN_MOMENTUM = 0.1; // PyTorch's convention: running = (1 - m) running + m batch
const BCE_EPS = 1e-7;

export class TfAitm {
  readonly trainable: Var[] = [];
  readonly embeddings: Var[];
  readonly bottoms: Mlp[];
  readonly gates: Mlp[];
  readonly aits: Attention[];
  readonly towers: Mlp[];

  constructor(
    private readonly tf: Tf,
    batchNorm: boolean,
    /**
     * 'gather' (tf.gather, whose gradient is UnsortedSegmentSum) or 'onehot' (oneHot(ids) @
     * table, the same values): tfjs's wasm backend has no UnsortedSegmentSum kernel, so it
     * trains only with the one-hot form.
     */
    private readonly lookup: 'gather' | 'onehot' = 'gather',
  ) {
    const s = SHAPE;
    const dim = s.bottom[s.bottom.length - 1]!;
    this.embeddings = Array.from({ length: s.fields }, () => this.param(tf.randomNormal([s.vocab, s.embedDim])));
    const input = s.fields * s.embedDim;
    this.bottoms = Array.from({ length: s.tasks }, () => this.mlp(input, s.bottom, batchNorm, false));
    this.gates = Array.from({ length: s.tasks - 1 }, () => this.mlp(dim, [dim], true, false));
    this.aits = Array.from({ length: s.tasks - 1 }, () => ({ q: this.linear(dim, dim), k: this.linear(dim, dim), v: this.linear(dim, dim) }));
    this.towers = Array.from({ length: s.tasks }, () => this.mlp(dim, s.tower, batchNorm, true));
  }

  private param(init: T): Var {
    const v = this.tf.variable(init, true);
    init.dispose();
    this.trainable.push(v);
    return v;
  }

  /** A non-trainable variable (BatchNorm's running statistics). */
  private buffer(init: T): Var {
    const v = this.tf.variable(init, false);
    init.dispose();
    return v;
  }

  /** PyTorch's Linear initialisation, U(-1/sqrt(in), 1/sqrt(in)). */
  private linear(inDim: number, outDim: number): Var {
    const r = 1 / Math.sqrt(inDim);
    return this.param(this.tf.randomUniform([inDim, outDim], -r, r));
  }

  private mlp(inDim: number, dims: readonly number[], batchNorm: boolean, outputLayer: boolean): Mlp {
    const tf = this.tf;
    const hidden: Mlp['hidden'] = [];
    let last = inDim;
    for (const d of dims) {
      const r = 1 / Math.sqrt(last);
      const dense = { w: this.linear(last, d), b: this.param(tf.randomUniform([d], -r, r)) };
      const bn = batchNorm
        ? { gamma: this.param(tf.ones([d])), beta: this.param(tf.zeros([d])), runMean: this.buffer(tf.zeros([d])), runVar: this.buffer(tf.ones([d])) }
        : null;
      hidden.push({ dense, bn });
      last = d;
    }
    const r = 1 / Math.sqrt(last);
    return { hidden, out: outputLayer ? { w: this.linear(last, 1), b: this.param(tf.randomUniform([1], -r, r)) } : null };
  }

  private runMlp(m: Mlp, x: T, training: boolean): T {
    const tf = this.tf;
    for (const { dense, bn } of m.hidden) {
      // Without batchnorm the relu fuses into the matMul, as tf.layers.dense does.
      x = tf.fused.matMul({ a: x as T2, b: dense.w as T2, bias: dense.b, activation: bn ? 'linear' : 'relu' });
      if (bn) {
        if (training) {
          const { mean, variance } = tf.moments(x, 0);
          const n = x.shape[0]!;
          // Running statistics as PyTorch keeps them (unbiased variance); not on the gradient path.
          bn.runMean.assign(tf.add(tf.mul(bn.runMean, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)));
          bn.runVar.assign(tf.add(tf.mul(bn.runVar, 1 - BN_MOMENTUM), tf.mul(variance, (BN_MOMENTUM * n) / (n - 1))));
          x = tf.batchNorm(x, mean, variance, bn.beta, bn.gamma, BN_EPS);
        } else {
          x = tf.batchNorm(x, bn.runMean, bn.runVar, bn.beta, bn.gamma, BN_EPS);
        }
        x = tf.relu(x);
      }
    }
    if (m.out) x = tf.fused.matMul({ a: x as T2, b: m.out.w as T2, bias: m.out.b });
    return x;
  }

  /** torch-rechub's AttentionLayer on [B, 2, dim]: softmax over the 2 positions of sum(Q*K)/sqrt(dim). */
  private attend(a: Attention, x: T): T {
    const tf = this.tf;
    const [b, two, dim] = x.shape as [number, number, number];
    const flat = tf.reshape(x, [b * two, dim]);
    const proj = (w: Var) => tf.reshape(tf.matMul(flat, w), [b, two, dim]);
    const q = proj(a.q);
    const k = proj(a.k);
    const v = proj(a.v);
    const weights = tf.softmax(tf.div(tf.sum(tf.mul(q, k), -1), Math.sqrt(dim)), 1);
    return tf.sum(tf.mul(tf.expandDims(weights, -1), v), 1);
  }

  /** [B, tasks] probabilities. */
  forward(ids: T[], training: boolean): T {
    const tf = this.tf;
    const embedX = tf.concat(
      this.embeddings.map((e, f) =>
        this.lookup === 'gather' ? tf.gather(e, ids[f]!) : tf.matMul(tf.oneHot(ids[f]! as import('@tensorflow/tfjs').Tensor1D, SHAPE.vocab), e as T2),
      ),
      1,
    );
    const towerIn = this.bottoms.map((m) => this.runMlp(m, embedX, training));
    for (let i = 1; i < towerIn.length; i++) {
      const info = this.runMlp(this.gates[i - 1]!, towerIn[i - 1]!, training);
      towerIn[i] = this.attend(this.aits[i - 1]!, tf.stack([towerIn[i]!, info], 1));
    }
    return tf.concat(
      towerIn.map((x, i) => tf.sigmoid(this.runMlp(this.towers[i]!, x, training))),
      1,
    );
  }

  /** Sum of per-task mean BCEs plus alpha * mean_b sum_t relu(p_t - p_{t-1}). */
  loss(p: T, y: T, alpha: number): Scalar {
    const tf = this.tf;
    const pc = tf.clipByValue(p, BCE_EPS, 1 - BCE_EPS);
    const bce = tf.neg(tf.mean(tf.add(tf.mul(y, tf.log(pc)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, pc)))), 0));
    const n = p.shape[1]!;
    const later = tf.slice(p, [0, 1], [-1, n - 1]);
    const earlier = tf.slice(p, [0, 0], [-1, n - 1]);
    const constraint = tf.mean(tf.sum(tf.relu(tf.sub(later, earlier)), 1));
    return tf.add(tf.sum(bce), tf.mul(constraint, alpha)) as Scalar;
  }
}


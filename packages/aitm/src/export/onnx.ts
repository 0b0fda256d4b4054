// ONNX export of a trained model's eval-mode forward (opset 17): one graph input per feature,
// named as the feature (int64 [batch] ids for sparse ones, float32 [batch] values for dense
// ones), one output `probs`, float32 [batch, tasks] in label order. The graph is built from
// the config and the state dict (torch-rechub's names), layer by layer as the model computes
// it: embedding Gathers, Gemm + BatchNormalization + activation per MLP layer, AITM's
// attention over [own, info], AutoInt's interacting layers, MMoE's and PLE's softmax-gated
// experts, ESMM's pCTR * pCVR. The protobuf
// messages come from `onnx-proto` (the ONNX schema compiled for protobufjs).

import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import type { Module } from '@aitm/nn';
import type { ModelConfig } from '../config.js';
import { mlpAt, type Shapes } from '../import.js';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const OPSET = 17;

type Attr = number | readonly number[];

/** Nodes and initializers under construction, with unique value names. */
class Graph {
  readonly nodes: OnnxTypes.INodeProto[] = [];
  readonly initializers: OnnxTypes.ITensorProto[] = [];
  private n = 0;

  constructor(private readonly weights: ReadonlyMap<string, { shape: readonly number[]; data: ArrayLike<number> }>) {}

  fresh(hint: string): string {
    return `${hint}_${this.n++}`;
  }

  /** A state-dict tensor as a float initializer (optionally transposed 2-D). */
  weight(key: string, transpose = false): string {
    const w = this.weights.get(key);
    if (w === undefined) throw new Error(`onnx export: the state dict has no '${key}'`);
    let data = Float32Array.from(w.data);
    let dims = [...w.shape];
    if (transpose) {
      const [r, c] = dims as [number, number];
      const t = new Float32Array(r * c);
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = data[i * c + j]!;
      data = t;
      dims = [c, r];
    }
    const name = transpose ? `${key}.T` : key;
    if (!this.initializers.some((t) => t.name === name)) {
      this.initializers.push({ name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer) });
    }
    return name;
  }

  constant(values: readonly number[], type: 'float' | 'int64'): string {
    const name = this.fresh('const');
    const raw = type === 'float' ? new Uint8Array(Float32Array.from(values).buffer) : new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer);
    this.initializers.push({ name, dims: [values.length], dataType: type === 'float' ? FLOAT : INT64, rawData: raw });
    return name;
  }

  op(type: string, inputs: readonly string[], attrs: Record<string, Attr> = {}): string {
    const out = this.fresh(type);
    const attribute = Object.entries(attrs).map(([name, v]): OnnxTypes.IAttributeProto =>
      typeof v === 'number'
        ? Number.isInteger(v) && name !== 'epsilon' && name !== 'alpha'
          ? { name, type: onnx.AttributeProto.AttributeType.INT, i: v }
          : { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v }
        : { name, type: onnx.AttributeProto.AttributeType.INTS, ints: [...v] },
    );
    this.nodes.push({ opType: type, input: [...inputs], output: [out], name: out, attribute });
    return out;
  }
}

/** A torch-rechub MLP at `prefix` in eval mode: per layer Gemm, BatchNormalization, activation (Dropout is the identity). */
function mlp(g: Graph, sd: Shapes, x: string, prefix: string, outputLayer: boolean, activation: string): string {
  const { mlp: layout } = mlpAt(sd, prefix, outputLayer);
  const step = layout.batchNorm ? 4 : 3;
  layout.dims.forEach((_, k) => {
    const j = k * step;
    x = g.op('Gemm', [x, g.weight(`${prefix}.mlp.${j}.weight`), g.weight(`${prefix}.mlp.${j}.bias`)], { transB: 1 });
    if (layout.batchNorm) {
      const bn = `${prefix}.mlp.${j + 1}`;
      x = g.op('BatchNormalization', [x, g.weight(`${bn}.weight`), g.weight(`${bn}.bias`), g.weight(`${bn}.running_mean`), g.weight(`${bn}.running_var`)], { epsilon: 1e-5 });
    }
    const act = `${prefix}.mlp.${j + (layout.batchNorm ? 2 : 1)}`;
    switch (activation.toLowerCase()) {
      case 'relu': x = g.op('Relu', [x]); break;
      case 'sigmoid': x = g.op('Sigmoid', [x]); break;
      case 'tanh': x = g.op('Tanh', [x]); break;
      case 'leakyrelu': x = g.op('LeakyRelu', [x], { alpha: 0.01 }); break;
      case 'softmax': x = g.op('Softmax', [x], { axis: 1 }); break;
      case 'prelu': x = g.op('PRelu', [x, g.weight(`${act}.weight`)]); break;
      default: throw new Error(`onnx export: activation '${activation}' of ${prefix} has no ONNX form here (relu, sigmoid, tanh, leakyrelu, prelu, softmax)`);
    }
  });
  if (outputLayer) {
    const j = layout.dims.length * step;
    x = g.op('Gemm', [x, g.weight(`${prefix}.mlp.${j}.weight`), g.weight(`${prefix}.mlp.${j}.bias`)], { transB: 1 });
  }
  return x;
}

/** sum_e gate[:, e] * expert_e: experts [B, dim] each, gate [B, nExpert] (MMoE's and PLE's pooling). */
function pool(g: Graph, gate: string, experts: readonly string[]): string {
  const stacked = g.op('Concat', experts.map((e) => g.op('Unsqueeze', [e, g.constant([1], 'int64')])), { axis: 1 }); // [B, n, dim]
  const weights = g.op('Unsqueeze', [gate, g.constant([2], 'int64')]); // [B, n, 1]
  return g.op('ReduceSum', [g.op('Mul', [weights, stacked]), g.constant([1], 'int64')], { keepdims: 0 });
}

/**
 * One AutoInt interacting layer on fields [B, F, d]: per head h, softmax(Q_h K_h^T) V_h (no
 * scaling, as AutoInt), the heads side by side, plus x W_Res when residual, then a relu.
 */
function interacting(g: Graph, x: string, prefix: string, fields: number, heads: number, attDim: number, residual: boolean): string {
  const proj = (w: string) => g.op('MatMul', [x, g.weight(`${prefix}.${w}`)]); // [B, F, H*A]
  const split = (t: string, perm: readonly number[]) => g.op('Transpose', [g.op('Reshape', [t, g.constant([0, fields, heads, attDim], 'int64')])], { perm });
  const q = split(proj('W_Query'), [0, 2, 1, 3]); // [B, H, F, A]
  const k = split(proj('W_Key'), [0, 2, 3, 1]); // [B, H, A, F]
  const v = split(proj('W_Value'), [0, 2, 1, 3]);
  const att = g.op('Softmax', [g.op('MatMul', [q, k])], { axis: -1 }); // [B, H, F, F]
  const mixed = g.op('Transpose', [g.op('MatMul', [att, v])], { perm: [0, 2, 1, 3] }); // [B, F, H, A]
  let out = g.op('Reshape', [mixed, g.constant([0, fields, heads * attDim], 'int64')]);
  if (residual) out = g.op('Add', [out, proj('W_Res')]);
  return g.op('Relu', [out]);
}

/** AITM's attention over [own, info]: a = softmax over the 2 positions of sum(Q*K)/sqrt(d), output sum(a*V). */
function attention(g: Graph, own: string, info: string, prefix: string, dim: number): string {
  const proj = (x: string, w: string) => g.op('MatMul', [x, g.weight(`${prefix}.${w}_layer.weight`, true)]);
  const axis1 = g.constant([1], 'int64');
  const score = (x: string) => g.op('ReduceSum', [g.op('Mul', [proj(x, 'q'), proj(x, 'k')]), axis1], { keepdims: 1 });
  const scale = g.constant([Math.sqrt(dim)], 'float');
  const a = g.op('Softmax', [g.op('Div', [g.op('Concat', [score(own), score(info)], { axis: 1 }), scale])], { axis: 1 });
  const part = (start: number) => g.op('Slice', [a, g.constant([start], 'int64'), g.constant([start + 1], 'int64'), axis1]);
  return g.op('Add', [g.op('Mul', [part(0), proj(own, 'v')]), g.op('Mul', [part(1), proj(info, 'v')])]);
}

/**
 * The ONNX bytes of `model` (eval mode) as `config` describes it: every model kind the CLI
 * trains (aitm, aitm-autoint, sharedbottom, mmoe, esmm, ple).
 *
 * @example
 * writeFileSync('model.onnx', await onnxBytes(model, config));
 */
export async function onnxBytes(model: Module, config: ModelConfig): Promise<Uint8Array> {
  const weights = new Map<string, { shape: readonly number[]; data: ArrayLike<number> }>();
  for (const [name, t] of model.stateEntries()) weights.set(name, { shape: t.shape, data: await t.data() });
  const sd: Shapes = new Map([...weights].map(([k, v]) => [k, v.shape]));
  const g = new Graph(weights);

  // Inputs and the embedding: sparse features' rows in order, then the dense values (as EmbeddingLayer).
  const inputs: OnnxTypes.IValueInfoProto[] = [];
  const batch = { dimParam: 'batch' };
  const parts: string[] = [];
  const dense: string[] = [];
  for (const f of config.features) {
    inputs.push({ name: f.name, type: { tensorType: { elemType: f.type === 'sparse' ? INT64 : FLOAT, shape: { dim: [batch] } } } });
    if (f.type === 'sparse') parts.push(g.op('Gather', [g.weight(`embedding.embed_dict.${f.name}.weight`), f.name], { axis: 0 }));
    else dense.push(g.op('Unsqueeze', [f.name, g.constant([1], 'int64')]));
  }
  // The flat input [B, sum of dims], built only for the models that read it (not aitm-autoint).
  let flatInput: string | undefined;
  const input = (): string => {
    const all = [...parts, ...dense];
    return (flatInput ??= all.length === 1 ? all[0]! : g.op('Concat', all, { axis: 1 }));
  };

  const towerOut = (t: number, input: string) => g.op('Sigmoid', [mlp(g, sd, input, `towers.${t}`, true, config.towers[t]!.activation ?? 'relu')]);
  let probs: string[];
  switch (config.model) {
    case 'aitm': {
      const act = config.bottom.activation ?? 'relu';
      const dim = config.bottom.dims[config.bottom.dims.length - 1]!;
      const towerIn = config.labels.map((_, t) => mlp(g, sd, input(), `bottoms.${t}`, false, act));
      for (let t = 1; t < towerIn.length; t++) {
        const info = mlp(g, sd, towerIn[t - 1]!, `info_gates.${t - 1}`, false, 'relu');
        towerIn[t] = attention(g, towerIn[t]!, info, `aits.${t - 1}`, dim);
      }
      probs = towerIn.map((v, t) => towerOut(t, v));
      break;
    }
    case 'sharedbottom': {
      const shared = mlp(g, sd, input(), 'bottom_mlp', false, config.bottom.activation ?? 'relu');
      probs = config.labels.map((_, t) => towerOut(t, shared));
      break;
    }
    case 'mmoe': {
      const act = config.experts.activation ?? 'relu';
      const experts = Array.from({ length: config.experts.nExpert }, (_, e) => mlp(g, sd, input(), `experts.${e}`, false, act));
      probs = config.labels.map((_, t) => towerOut(t, pool(g, mlp(g, sd, input(), `gates.${t}`, false, 'softmax'), experts)));
      break;
    }
    case 'ple': {
      // CGC levels: task-specific and shared experts, a softmax gate per task over its own and
      // the shared experts, and below the last level a shared gate over all of them.
      const act = config.experts.activation ?? 'relu';
      const { nSpecific, nShared } = config.experts;
      const nTask = config.labels.length;
      let xs = Array.from({ length: nTask + 1 }, () => input());
      for (let l = 0; l < config.levels; l++) {
        const p = `cgc_layers.${l}`;
        const specific = Array.from({ length: nTask * nSpecific }, (_, k) => mlp(g, sd, xs[Math.floor(k / nSpecific)]!, `${p}.experts_specific.${k}`, false, act));
        const shared = Array.from({ length: nShared }, (_, k) => mlp(g, sd, xs[nTask]!, `${p}.experts_shared.${k}`, false, act));
        const next = Array.from({ length: nTask }, (_, t) =>
          pool(g, mlp(g, sd, xs[t]!, `${p}.gates_specific.${t}`, false, 'softmax'), [...specific.slice(t * nSpecific, (t + 1) * nSpecific), ...shared]),
        );
        if (l < config.levels - 1) next.push(pool(g, mlp(g, sd, xs[nTask]!, `${p}.gate_shared`, false, 'softmax'), [...specific, ...shared]));
        xs = next;
      }
      probs = config.labels.map((_, t) => towerOut(t, xs[t]!));
      break;
    }
    case 'esmm': {
      const ctr = g.op('Sigmoid', [mlp(g, sd, input(), 'tower_ctr', true, config.towers[0]!.activation ?? 'relu')]);
      const cvr = g.op('Sigmoid', [mlp(g, sd, input(), 'tower_cvr', true, config.towers[1]!.activation ?? 'relu')]);
      probs = [ctr, g.op('Mul', [ctr, cvr])];
      break;
    }
    case 'aitm-autoint': {
      // Per task: the sparse fields [B, F, dim] through AutoInt's interacting layers, flattened,
      // then the dense values, into the bottom; from there on as AITM.
      const { layers, heads, attDim } = config.autoint;
      const residual = config.autoint.residual ?? true;
      const fields = g.op('Concat', parts.map((p) => g.op('Unsqueeze', [p, g.constant([1], 'int64')])), { axis: 1 });
      const nFields = parts.length;
      const denseIn = dense.length === 0 ? null : dense.length === 1 ? dense[0]! : g.op('Concat', dense, { axis: 1 });
      const act = config.bottom.activation ?? 'relu';
      const dim = config.bottom.dims[config.bottom.dims.length - 1]!;
      const towerIn = config.labels.map((_, t) => {
        let h = fields;
        for (let l = 0; l < layers; l++) h = interacting(g, h, `int_layers.${t}.${l}`, nFields, heads, attDim, residual);
        const flat = g.op('Reshape', [h, g.constant([0, -1], 'int64')]);
        return mlp(g, sd, denseIn ? g.op('Concat', [flat, denseIn], { axis: 1 }) : flat, `bottoms.${t}`, false, act);
      });
      for (let t = 1; t < towerIn.length; t++) {
        const info = mlp(g, sd, towerIn[t - 1]!, `info_gates.${t - 1}`, false, 'relu');
        towerIn[t] = attention(g, towerIn[t]!, info, `aits.${t - 1}`, dim);
      }
      probs = towerIn.map((v, t) => towerOut(t, v));
      break;
    }
    default:
      throw new Error(`onnx export: model '${(config as { model: string }).model}' is not supported`);
  }
  const out = g.op('Concat', probs, { axis: 1 });
  g.nodes.push({ opType: 'Identity', input: [out], output: ['probs'], name: 'probs' });

  const proto = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'aitm-webgpu',
    graph: {
      name: config.model,
      node: g.nodes,
      initializer: g.initializers,
      input: inputs,
      output: [{ name: 'probs', type: { tensorType: { elemType: FLOAT, shape: { dim: [batch, { dimValue: config.labels.length }] } } } }],
    },
  });
  return onnx.ModelProto.encode(proto).finish();
}

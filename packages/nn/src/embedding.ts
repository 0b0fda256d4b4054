// Embedding tables and torch-rechub's feature specs and EmbeddingLayer: one table per sparse
// feature in a ModuleDict named `embed_dict`, so names read `embed_dict.<feature>.weight`.

import { cast, concat, fmtShape, fromTypedArray, gather, gatherConcat, reshape, unsqueeze, type DType, type Generator, type Tensor } from '@aitm/tensor';
import { Module, ModuleDict } from './module.js';
import { randomNormal, type Initializer } from './init.js';

/** Options of `Embedding`: dtype, generator, initialisation. */
export interface EmbeddingOptions {
  /** How the [num, dim] weight is drawn (default N(0, 1), like torch.nn.Embedding). */
  initializer?: Initializer;
  dtype?: DType;
  generator?: Generator;
  /** Used in error messages (EmbeddingLayer passes the feature name). */
  label?: string;
}

/**
 * `torch.nn.Embedding(num, dim)`: `weight` [num, dim]; forward(ids) = weight[ids], of shape
 * [...ids.shape, dim]. Ids are int32 (a tensor of any shape, or an Int32Array for 1-D).
 *
 * Out-of-range ids raise an error naming the id and the vocabulary size. The check runs on
 * the host, so only where reading the ids costs nothing: ids given as an Int32Array, or an
 * ids tensor on the CPU backend. Ids already on a GPU are not read back (that would stall the
 * pipeline); there the backend's gather decides what an out-of-range id gives.
 *
 * @example
 * const emb = new Embedding(10, 4);
 * emb.forward(tensor([[1, 2], [9, 0]], { dtype: 'int32' })); // [2, 2, 4]
 */
export class Embedding extends Module {
  readonly weight: Tensor;
  private readonly label: string;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    opts: EmbeddingOptions = {},
  ) {
    super();
    const init = opts.initializer ?? randomNormal(0, 1);
    const gen = opts.generator ? { generator: opts.generator } : {};
    const w = init([numEmbeddings, embeddingDim], { dtype: opts.dtype ?? 'float32', ...gen });
    if (w.rank !== 2 || w.shape[0] !== numEmbeddings || w.shape[1] !== embeddingDim) {
      throw new Error(`Embedding: the initializer returned ${fmtShape(w.shape)}, expected [${numEmbeddings},${embeddingDim}]`);
    }
    this.weight = this.registerParameter('weight', w);
    this.label = opts.label ?? 'Embedding';
  }

  forward(ids: Tensor | Int32Array): Tensor {
    if (!(ids instanceof Int32Array)) {
      if (ids.dtype !== 'int32') throw new Error(`${this.label}: ids must be int32, got ${ids.dtype} ${fmtShape(ids.shape)}`);
      if (ids.backendName === 'cpu') checkIds(ids.dataSync(), this.numEmbeddings, this.label);
      return gather(this.weight, ids);
    }
    checkIds(ids, this.numEmbeddings, this.label);
    const t = fromTypedArray(ids, [ids.length], 'int32', { backend: this.weight.backendName });
    return gather(this.weight, t);
  }
}

function checkIds(ids: ArrayLike<number>, vocab: number, label: string): void {
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i]!;
    if (v < 0 || v >= vocab) {
      throw new Error(`${label}: id ${v} (at position ${i}) is out of range for vocabulary size ${vocab} (valid ids 0..${vocab - 1})`);
    }
  }
}

/** A sparse (id) feature: its name, vocabulary size and embedding size. */
export interface SparseFeatureSpec {
  readonly name: string;
  readonly vocabSize: number;
  readonly embedDim: number;
  /** Look ids up in this other feature's table; no table is created for this feature. */
  readonly sharedWith?: string;
  /** Default torch-rechub's RandomNormal(0, 0.0001) (`DEFAULT_FEATURE_INITIALIZER`). */
  readonly initializer?: Initializer;
}

/**
 * A categorical input, torch-rechub's `SparseFeature(name, vocab_size, embed_dim,
 * shared_with, initializer)`: one embedding table of [vocabSize, embedDim], or another's.
 *
 * @example
 * new SparseFeature({ name: 'user_id', vocabSize: 1000, embedDim: 8 });
 */
export class SparseFeature implements SparseFeatureSpec {
  readonly name: string;
  readonly vocabSize: number;
  readonly embedDim: number;
  readonly sharedWith?: string;
  readonly initializer?: Initializer;

  constructor(spec: SparseFeatureSpec) {
    const { name, vocabSize, embedDim } = spec;
    for (const [key, v] of [['vocabSize', vocabSize], ['embedDim', embedDim]] as const) {
      if (!(Number.isInteger(v) && v > 0)) throw new Error(`SparseFeature '${name}': ${key} must be a positive integer, got ${v}`);
    }
    this.name = name;
    this.vocabSize = vocabSize;
    this.embedDim = embedDim;
    if (spec.sharedWith !== undefined) this.sharedWith = spec.sharedWith;
    if (spec.initializer !== undefined) this.initializer = spec.initializer;
  }
}

/** A numeric input passed through as one column, torch-rechub's `DenseFeature(name)`. */
export class DenseFeature {
  readonly name: string;
  constructor(spec: { readonly name: string }) {
    this.name = spec.name;
  }
}

/** A sparse or dense input feature. */
export type Feature = SparseFeature | DenseFeature;

/** Default embedding initialiser of torch-rechub features: N(0, 1e-4). */
export const DEFAULT_FEATURE_INITIALIZER: Initializer = randomNormal(0, 1e-4);

/** Options of `EmbeddingLayer`. */
export interface EmbeddingLayerOptions {
  dtype?: DType;
  generator?: Generator;
}

/** Options of `EmbeddingLayer.forward`. */
export interface EmbeddingForwardOptions {
  /** Flatten the sparse embeddings to [B, nSparse * dim] and append the dense columns. */
  squeezeDim?: boolean;
  /** Which features to use, in this order (default: all, in constructor order). */
  features?: readonly Feature[];
}

/**
 * torch-rechub's EmbeddingLayer. Tables are created in feature order for sparse features
 * without `sharedWith` (a repeated name reuses the first table).
 *
 * forward(inputs): each sparse feature's ids ([B], int32; float ids are truncated like
 * `.long()`) become [B, 1, dim]; without squeezeDim the result is [B, nSparse, dim] (all
 * dims must be equal); with squeezeDim it is the sparse embeddings flattened, then each
 * dense value as a column ([B] becomes [B, 1]), concatenated on dim 1: torch-rechub's order.
 * Out-of-range ids raise an error naming the feature, the id and the vocabulary size (with
 * the same host-side limits as `Embedding`).
 *
 * @example
 * const layer = new EmbeddingLayer([
 *   new SparseFeature({ name: 'user', vocabSize: 10, embedDim: 4 }),
 *   new DenseFeature({ name: 'age' }),
 * ]);
 * layer.forward({ user: ids, age: ages }, { squeezeDim: true }); // [B, 5]
 */
export class EmbeddingLayer extends Module {
  readonly embedDict: ModuleDict<Embedding>;
  readonly features: readonly Feature[];
  private readonly dtype: DType;

  constructor(features: readonly Feature[], opts: EmbeddingLayerOptions = {}) {
    super();
    this.features = features;
    this.dtype = opts.dtype ?? 'float32';
    this.embedDict = this.registerModule('embed_dict', new ModuleDict<Embedding>());
    for (const f of features) {
      if (!(f instanceof SparseFeature) || f.sharedWith !== undefined || this.embedDict.has(f.name)) continue;
      const emb = new Embedding(f.vocabSize, f.embedDim, {
        initializer: f.initializer ?? DEFAULT_FEATURE_INITIALIZER,
        dtype: this.dtype,
        label: `EmbeddingLayer: feature '${f.name}'`,
        ...(opts.generator ? { generator: opts.generator } : {}),
      });
      this.embedDict.set(f.name, emb);
    }
    for (const f of features) {
      if (f instanceof SparseFeature && f.sharedWith !== undefined && !this.embedDict.has(f.sharedWith)) {
        throw new Error(`EmbeddingLayer: feature '${f.name}' is shared with '${f.sharedWith}', which has no embedding table`);
      }
    }
  }

  /** The table a sparse feature looks its ids up in. */
  tableOf(f: SparseFeature): Embedding {
    return this.embedDict.get(f.sharedWith ?? f.name);
  }

  forward(inputs: Readonly<Record<string, Tensor>>, opts: EmbeddingForwardOptions = {}): Tensor {
    const tables: Tensor[] = [];
    const ids: Tensor[] = [];
    const dense: Tensor[] = [];
    for (const f of opts.features ?? this.features) {
      const x = inputs[f.name];
      if (x === undefined) throw new Error(`EmbeddingLayer: no input for feature '${f.name}' (inputs: ${Object.keys(inputs).join(', ')})`);
      if (f instanceof SparseFeature) {
        const table = this.tableOf(f);
        const id = x.dtype === 'int32' ? x : cast(x, 'int32');
        if (id.backendName === 'cpu') {
          const shared = f.sharedWith === undefined ? '' : ` (table of '${f.sharedWith}')`;
          checkIds(id.dataSync(), table.numEmbeddings, `EmbeddingLayer: feature '${f.name}'${shared}`);
        }
        tables.push(table.weight);
        ids.push(id);
      } else {
        const v = x.dtype === this.dtype ? x : cast(x, this.dtype);
        dense.push(v.rank > 1 ? v : unsqueeze(v, 1));
      }
    }
    if (!opts.squeezeDim && tables.length === 0) {
      throw new Error('EmbeddingLayer: without squeezeDim the output is [B, nSparse, dim], which needs at least one sparse feature');
    }
    if (!opts.squeezeDim) {
      const dims = new Set(tables.map((t) => t.shape[1]));
      if (dims.size > 1) {
        throw new Error(`EmbeddingLayer: sparse features have different embedding dims (${[...dims].join(', ')}); use squeezeDim`);
      }
    }
    if (opts.squeezeDim && tables.length === 0 && dense.length === 0) throw new Error('EmbeddingLayer: the input features can not be empty');
    // All lookups in one fused op ([B, sum of dims]) when every id input is a [B] vector;
    // otherwise one gather per field, flattened per sample, as torch-rechub composes it.
    let sparse: Tensor | null = null;
    if (tables.length > 0) {
      sparse = ids.every((i) => i.rank === 1 && i.shape[0] === ids[0]!.shape[0])
        ? gatherConcat(tables, ids)
        : concat(tables.map((t, f) => reshape(gather(t, ids[f]!), [ids[f]!.shape[0]!, -1])), 1);
    }
    if (!opts.squeezeDim) return reshape(sparse!, [sparse!.shape[0]!, tables.length, tables[0]!.shape[1]!]);
    const parts = [...(sparse ? [sparse] : []), ...dense];
    return parts.length === 1 ? parts[0]! : concat(parts, 1);
  }
}

// The autograd graph's nodes. A node is made by `runOp` when an op runs on tensors that
// require grad, and it owns what the op's gradient rule will need, independently of the
// user's tensor handles: a retained reference to every input's storage and to the output's
// storage (with each storage's version at that moment), and an edge per input saying where
// that input's gradient goes (the node that made it, the leaf tensor to accumulate into, or
// nowhere). So disposing an intermediate handle (as `tidy` does) never cuts the graph, and
// rebinding a tensor with `assign` never changes what backward sees.
//
// Lifetime is deterministic, by reference counting (the garbage collector is never trusted
// with GPU memory): a node is held by the tensor it produced and by every node that consumes
// that tensor. Backward frees a node's saved storage as soon as its rule has run (unless
// `retainGraph`), and a node whose count drops to zero frees its storage and lets go of the
// nodes upstream of it.

import type { DType } from './dtype.js';
import { fmtShape } from './shape.js';
import type { OpDef } from './op.js';
import { Tensor, type Storage } from './tensor.js';

/** A value an op saved for its gradient: the storage (retained), its shape and its version when saved. */
interface SavedValue {
  readonly storage: Storage;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly version: number;
}

/** Where an input's gradient goes: the node that produced it, a leaf to accumulate into, or nothing. */
export type Edge = GraphNode | Tensor | null;

/** A hook on a gradient as it flows back: return a tensor to replace it, or nothing to keep it. */
export type GradHook = (grad: Tensor) => Tensor | void;

/** The graph identity of a tensor that requires grad: its producing node, or the leaf itself. */
export function edgeOf(t: Tensor): Edge {
  if (!t.requiresGrad) return null;
  return t.node ?? t.leafTarget ?? t;
}

/**
 * One recorded op of the autograd graph: the op (`op`, `def`), its attributes, where each
 * input's gradient goes (`edges`: the producing node, a leaf tensor, or null for an input
 * that takes no gradient) and the inputs' and output's shapes and dtypes. A tensor's
 * `node` is the node that produced it (null for leaves), so the graph is walked from a
 * result back to the leaves; `toDot` and `toSvg` draw it.
 *
 * @example
 * const y = x.mul(w).sum();                        // x, w require grad
 * y.node!.op;                                      // 'sum'
 * (y.node!.edges[0] as GraphNode).op;              // 'mul'
 * (y.node!.edges[0] as GraphNode).edges;           // [x, w]: the leaves
 */
export class GraphNode {
  /** Holders: the output tensor (and backward's temporary copies of it) and consuming nodes. */
  private refs = 1;
  private saved: SavedValue[] | null;
  /** Gradient hooks registered on the output tensor (a non-leaf), run before the rule. */
  hooks: GradHook[] = [];
  /** The output tensor, when `retainGrad()` asked to keep its gradient in `.grad`. */
  retainTarget: Tensor | null = null;
  /** Each input's shape and dtype (what its gradient must have), kept after the values are freed. */
  readonly inputMeta: readonly { readonly shape: readonly number[]; readonly dtype: DType }[];
  /** The output's shape and dtype. */
  readonly outputMeta: { readonly shape: readonly number[]; readonly dtype: DType };

  constructor(
    readonly def: OpDef<unknown>,
    readonly attrs: unknown,
    inputs: readonly Tensor[],
    output: Tensor,
    /** Per input, where its gradient goes (retained here when a node). */
    readonly edges: readonly Edge[] = inputs.map(edgeOf),
  ) {
    for (const e of edges) if (e instanceof GraphNode) e.refs++;
    this.inputMeta = inputs.map((t) => ({ shape: t.shape, dtype: t.dtype }));
    this.outputMeta = { shape: output.shape, dtype: output.dtype };
    this.saved = [...inputs, output].map((t) => ({
      storage: t.storage.retain(),
      shape: t.shape,
      dtype: t.dtype,
      version: t.storage.root.version,
    }));
  }

  /** The op's name (`'mul'`, `'bmm'`, ...), as `defineOp` registered it. */
  get op(): string {
    return this.def.name;
  }

  /** @internal Adds a holder (a consuming node, backward's temporary handle). */
  retain(): this {
    this.refs++;
    return this;
  }

  /** @internal Drops one holder; the last one frees the saved storage and releases the upstream nodes. */
  release(): void {
    // Iterative: a long chain (an unrolled loop) would overflow the stack recursively.
    const stack: GraphNode[] = [this];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (--n.refs > 0) continue;
      n.freeSaved();
      for (const e of n.edges) if (e instanceof GraphNode) stack.push(e);
    }
  }

  /** Whether the saved values are gone (after a backward without `retainGraph`). */
  get isFreed(): boolean {
    return this.saved === null;
  }

  /** @internal Frees the saved storage; the node stays in the graph, but backward through it now fails. */
  freeSaved(): void {
    if (this.saved === null) return;
    for (const s of this.saved) s.storage.release();
    this.saved = null;
  }

  /**
   * @internal Fresh tensors over the saved values for the rule's context: inputs, then the output.
   * With `connect` (double backward), each carries its graph identity so ops on it are
   * recorded against the original graph. A value whose storage was written in place since
   * it was saved comes back marked stale: any op that reads it raises, naming this op.
   */
  unpack(connect: boolean, needed: (e: Edge) => boolean): { inputs: Tensor[]; output: Tensor } {
    const saved = this.saved;
    if (saved === null) {
      throw new Error(
        `backward: trying to backward through '${this.def.name}' a second time, but its saved values were freed ` +
          'by the first backward; pass { retainGraph: true } to the first backward() if you need to call it twice',
      );
    }
    const wrap = (s: SavedValue, edge: Edge, requiresGrad: boolean, what: string): Tensor => {
      const t = new Tensor(s.storage.retain(), s.shape, s.dtype);
      t.requiresGrad = requiresGrad;
      if (connect && edge !== null) {
        if (edge instanceof GraphNode) t.node = edge.retain();
        else t.leafTarget = edge;
      }
      if (s.storage.root.version !== s.version) {
        t.staleError =
          `backward: ${what} ${fmtShape(s.shape)} ${s.dtype}, saved by '${this.def.name}' for its gradient, was modified ` +
          `in place after the forward pass (storage version ${s.storage.root.version}, saved at ${s.version}). ` +
          'Run backward before the in-place update (an optimizer step, FlatBlock.copyIn, a running-statistics update), ' +
          'or clone the tensor before updating it';
      }
      return t;
    };
    const inputs: Tensor[] = [];
    this.edges.forEach((edge, k) => {
      const s = saved[k]!;
      // One tensor fed to several inputs (x * x) gets one wrapper, so rules that dedupe by identity still can.
      const j = this.edges.findIndex((e, i) => i < k && e === edge && saved[i]!.storage === s.storage);
      // Recording (connect), every input that requires grad stays connected, needed in this
      // pass or not: the recorded gradient depends on it (d(dy * b)/db is not zero).
      inputs.push(j >= 0 ? inputs[j]! : wrap(s, edge, edge !== null && (connect || needed(edge)), `its input ${k}`));
    });
    const output = wrap(saved[saved.length - 1]!, connect ? this : null, connect, 'its output');
    return { inputs, output };
  }
}

// Reverse-mode automatic differentiation with PyTorch's guarantees. Backward visits the graph
// behind the output (nodes in ./graph.ts) in reverse topological order and runs each node's
// gradient rule on the values the node saved, so:
//   - disposing a user's handle (tidy) never loses a gradient: the graph owns what it needs;
//   - a saved value overwritten in place since the forward pass raises, naming the op;
//   - a second backward through a freed graph raises unless the first had `retainGraph`;
//   - a rule returning too few gradients, or one of the wrong shape or dtype, raises;
//   - every gradient tensor backward makes is freed as soon as it has been used, and each
//     node's saved values right after its rule ran: backward leaks nothing.
// Gradients of leaves accumulate in `.grad` like PyTorch's (reset them between steps).
// With `createGraph`, rules run with recording on, so gradients are differentiable again.

import { Tensor } from './tensor.js';
import { GraphNode, edgeOf, type Edge, type GradHook } from './graph.js';
import { fmtShape } from './shape.js';
import { tidy } from './memory.js';
import { add } from './ops/elementwise.js';
import { onesLike, zerosLike } from './creation.js';
import { enableGrad, isGradEnabled, setGradEnabled } from './grad-mode.js';

/** Options of `backward()`. */
export interface BackwardOptions {
  /** Keep the graph's saved values so backward can run through it again (default: `createGraph`). */
  readonly retainGraph?: boolean;
  /** Record the gradients' own graph, for higher-order derivatives (default false). */
  readonly createGraph?: boolean;
}

/** Options of `gradients()`: those of `backward()`, and `allowUnused`. */
export interface GradientsOptions extends BackwardOptions {
  /** The upstream gradient of the output (default: ones; required unless it has one element). */
  readonly gradOutput?: Tensor;
  /** Give null for an input the output does not depend on, instead of raising. */
  readonly allowUnused?: boolean;
}

type Key = GraphNode | Tensor;

/** Every key reachable from `root`, each after all the keys it consumes. */
function topoOrder(root: Key): Key[] {
  const order: Key[] = [];
  const seen = new Set<Key>();
  // Iterative DFS: deep graphs (long training unrolls) would overflow the JS stack.
  const stack: [Key, boolean][] = [[root, false]];
  while (stack.length > 0) {
    const [k, expanded] = stack.pop()!;
    if (expanded) {
      order.push(k);
      continue;
    }
    if (seen.has(k)) continue;
    seen.add(k);
    stack.push([k, true]);
    if (k instanceof GraphNode) for (const e of k.edges) if (e !== null && !seen.has(e)) stack.push([e, false]);
  }
  return order;
}

function sameMeta(a: Tensor, shape: readonly number[], dtype: string): boolean {
  return a.dtype === dtype && a.shape.length === shape.length && a.shape.every((d, i) => d === shape[i]);
}

function checkSeed(root: Tensor, gradient: Tensor | undefined, who: string): void {
  if (!root.requiresGrad) {
    throw new Error(`${who}: the tensor does not require grad (no input had requiresGrad, or it was made under noGrad)`);
  }
  if (gradient === undefined) {
    if (root.size !== 1) {
      throw new Error(
        `${who}: called on a tensor of shape ${fmtShape(root.shape)} without a gradient; ` +
          'only one-element tensors (a loss) can be differentiated implicitly: pass the upstream gradient',
      );
    }
  } else if (!sameMeta(gradient, root.shape, root.dtype)) {
    throw new Error(`${who}: gradient ${fmtShape(gradient.shape)} ${gradient.dtype} does not match tensor ${fmtShape(root.shape)} ${root.dtype}`);
  }
}

/**
 * The backward pass proper. Gradients in flight are reference-counted by the number of
 * pending slots holding them (one tensor can be the gradient of several inputs: add passes
 * dy through); a tensor made by this pass is freed when its count drops to zero, unless it
 * was handed over (to a leaf's `.grad` or as a requested gradient).
 */
function runBackward(root: Tensor, gradient: Tensor | undefined, opts: BackwardOptions, targets: Set<Key> | null): Map<Key, Tensor> {
  const createGraph = opts.createGraph ?? false;
  const retainGraph = opts.retainGraph ?? createGraph;
  const rootKey = edgeOf(root)!;
  const order = topoOrder(rootKey);

  // With targets (gradients()), only the part of the graph that leads to them is walked.
  let needed: (e: Edge) => boolean = (e) => e !== null;
  if (targets !== null) {
    const leads = new Set<Key>();
    for (const k of order) {
      if (targets.has(k) || (k instanceof GraphNode && k.edges.some((e) => e !== null && leads.has(e)))) leads.add(k);
    }
    needed = (e) => e !== null && leads.has(e);
  }

  // Tensors made from here on belong to this pass (ids only grow); the caller's gradient does not.
  const firstId = Tensor.peekNextId();
  const owned = (t: Tensor): boolean => t.id >= firstId;
  const counts = new Map<Tensor, number>();
  const handed = new Set<Tensor>();
  const hold = (t: Tensor): void => void counts.set(t, (counts.get(t) ?? 0) + 1);
  const drop = (t: Tensor): void => {
    const n = (counts.get(t) ?? 1) - 1;
    if (n > 0) return void counts.set(t, n);
    counts.delete(t);
    if (owned(t) && !handed.has(t)) t.dispose();
  };
  /** `t` handed to someone else for good: never freed here again. */
  const handOver = (t: Tensor): Tensor => {
    if (!owned(t) || handed.has(t) || (counts.get(t) ?? 0) > 1) return t.clone();
    handed.add(t);
    return t;
  };

  const grads = new Map<Key, Tensor>();
  const put = (key: Key, g: Tensor): void => {
    const prev = grads.get(key);
    if (prev === undefined) {
      grads.set(key, g);
      hold(g);
      return;
    }
    const sum = add(prev, g);
    grads.set(key, sum);
    hold(sum);
    drop(prev);
  };
  const captured = new Map<Key, Tensor>();

  const prevEnabled = setGradEnabled(createGraph);
  try {
    put(rootKey, gradient ?? onesLike(root));
    for (let i = order.length - 1; i >= 0; i--) {
      const key = order[i]!;
      let g = grads.get(key);
      if (g === undefined) continue;
      grads.delete(key);
      g = runHooks(key instanceof GraphNode ? key.hooks : key.leafHooks, g, hold, drop);
      if (targets?.has(key)) captured.set(key, handOver(g));

      if (!(key instanceof GraphNode)) {
        // A leaf. backward() accumulates into .grad; gradients() leaves .grad alone.
        if (targets === null && !key.isDisposed) accumulate(key, g, createGraph, handOver);
        drop(g);
        continue;
      }
      const node = key;
      const target = node.retainTarget;
      if (targets === null && target !== null && !target.isDisposed) accumulate(target, g, createGraph, handOver);

      if (node.edges.some(needed)) {
        const inGrads = applyRule(node, g, createGraph, needed);
        node.edges.forEach((edge, k) => {
          const gk = inGrads[k];
          if (needed(edge) && gk !== null) put(edge!, gk!);
        });
        // Gradients nobody needs (a rule may compute more than asked) and the ones just queued.
        for (const t of new Set(inGrads)) if (t !== null) {
          hold(t);
          drop(t);
        }
      }
      drop(g);
      if (!retainGraph) node.freeSaved();
    }
  } catch (e) {
    for (const t of grads.values()) drop(t);
    throw e;
  } finally {
    setGradEnabled(prevEnabled);
  }
  return captured;
}

/** Hooks in registration order; each may replace the gradient with one of the same shape. */
function runHooks(hooks: readonly GradHook[], g: Tensor, hold: (t: Tensor) => void, drop: (t: Tensor) => void): Tensor {
  for (const hook of hooks) {
    const r = hook(g);
    if (r === undefined || r === g) continue;
    if (!(r instanceof Tensor) || !sameMeta(r, g.shape, g.dtype)) {
      throw new Error(`backward: a gradient hook returned ${r instanceof Tensor ? `${fmtShape(r.shape)} ${r.dtype}` : String(r)} for a gradient ${fmtShape(g.shape)} ${g.dtype}`);
    }
    hold(r);
    drop(g);
    g = r;
  }
  return g;
}

/** One node's rule on its saved values, its temporaries freed, its result checked. */
function applyRule(node: GraphNode, g: Tensor, createGraph: boolean, needed: (e: Edge) => boolean): (Tensor | null)[] {
  const { def } = node;
  if (def.grad === 'none') return node.edges.map(() => null);
  if (def.grad === 'notImplemented') {
    throw new Error(
      `backward: '${def.name}' has no gradient rule (it is a kernel used inside other ops' gradients), so this ` +
        'double backward cannot go through it; use the composed form of the op whose gradient called it',
    );
  }
  const rule = def.grad;
  const result = tidy(() => {
    const ctx = node.unpack(createGraph, needed);
    return [...rule(g, { inputs: ctx.inputs, output: ctx.output, attrs: node.attrs })];
  });
  if (result.length !== node.edges.length) {
    throw new Error(`backward: the gradient rule of '${def.name}' returned ${result.length} gradients for ${node.edges.length} inputs`);
  }
  // Every rule is linear in dy: a recorded dy must give recorded gradients. One that does not
  // was cut from the graph (a view made outside autograd) and would give a silent zero.
  if (createGraph && g.requiresGrad && result.some((t) => t != null && !t.requiresGrad)) {
    throw new Error(
      `backward: the gradient rule of '${def.name}' returned a gradient cut from the graph, so a double backward ` +
        'through it would be silently wrong; its rule needs a composedGrad path under createGraph',
    );
  }
  node.edges.forEach((edge, k) => {
    const gk = result[k] ?? null;
    if (!needed(edge)) return;
    const m = node.inputMeta[k]!;
    // An input listed twice (a shared embedding table) may take its whole gradient at its first place.
    if (gk === null && node.edges.some((e, j) => j < k && e === edge && result[j] != null)) return;
    if (gk === null) {
      throw new Error(`backward: the gradient rule of '${def.name}' returned no gradient for input ${k} ${fmtShape(m.shape)} ${m.dtype}, which requires grad`);
    }
    if (!sameMeta(gk, m.shape, m.dtype)) {
      throw new Error(
        `backward: the gradient rule of '${def.name}' returned ${fmtShape(gk.shape)} ${gk.dtype} for input ${k}, ` +
          `which is ${fmtShape(m.shape)} ${m.dtype}`,
      );
    }
  });
  return result.map((t) => t ?? null);
}

/**
 * For a fused op's rule under `createGraph`: the gradient of its composed reference
 * `reference(inputs)` (built from differentiable ops) given `dy`, recorded so it can be
 * differentiated again. Fused backward kernels have no rules of their own; this is how a
 * double backward goes through fused ops instead of raising.
 *
 * @example
 * grad: (dy, { inputs }) => isGradEnabled() ? composedGrad((xs) => reference(...xs), dy, inputs) : fusedRule(...)
 */
export function composedGrad(reference: (inputs: readonly Tensor[]) => Tensor, dy: Tensor, inputs: readonly Tensor[]): (Tensor | null)[] {
  return enableGrad(() => {
    // Fresh handles, so the targets below are this recomputation's own inputs.
    const handles = inputs.map((t) => (t.requiresGrad ? t.clone() : t));
    const wanted = handles.filter((h) => h.requiresGrad);
    const y = reference(handles);
    if (!y.requiresGrad) return inputs.map(() => null);
    const gs = gradients(y, wanted, { gradOutput: dy, createGraph: true, allowUnused: true });
    let k = 0;
    return handles.map((h) => (h.requiresGrad ? (gs[k++] ?? zerosLike(h)) : null));
  });
}

/** Adds `g` into `t.grad` (in place, like PyTorch; out of place when recording the graph). */
function accumulate(t: Tensor, g: Tensor, createGraph: boolean, handOver: (g: Tensor) => Tensor): void {
  const prev = t.grad;
  if (prev === null) {
    t.grad = handOver(g);
  } else if (createGraph) {
    t.grad = add(prev, g);
    prev.dispose();
  } else {
    // In place: a reference to `t.grad` taken earlier sees the new sum.
    const sum = add(prev, g);
    prev.assign(sum);
    sum.dispose();
  }
}

/** Backward from `root` into the `.grad` of every leaf (see `Tensor.backward`). */
export function backward(root: Tensor, gradient?: Tensor, options: BackwardOptions = {}): void {
  checkSeed(root, gradient, 'backward');
  runBackward(root, gradient, options, null);
}

/**
 * The gradients of `output` with respect to `inputs` (leaves or intermediates), returned
 * rather than accumulated into `.grad`, like `torch.autograd.grad`. With `createGraph`
 * they are differentiable: a Hessian-vector product is two calls.
 *
 * @example
 * const [g] = gradients(f(x), [x], { createGraph: true });
 * const [hv] = gradients(sum(mul(g, v)), [x]); // H v
 */
export function gradients(output: Tensor, inputs: readonly Tensor[], options: GradientsOptions = {}): (Tensor | null)[] {
  checkSeed(output, options.gradOutput, 'gradients');
  const keys = inputs.map((t, k) => {
    const key = edgeOf(t);
    if (key === null) throw new Error(`gradients: input ${k} ${fmtShape(t.shape)} ${t.dtype} does not require grad`);
    return key;
  });
  const captured = runBackward(output, options.gradOutput, options, new Set(keys));
  const given = new Set<Tensor>();
  return keys.map((key, k) => {
    const g = captured.get(key);
    if (g === undefined) {
      if (options.allowUnused) return null;
      throw new Error(`gradients: input ${k} ${fmtShape(inputs[k]!.shape)} was not used to compute the output (pass allowUnused: true to get null)`);
    }
    // The same input listed twice gets its own copy.
    if (given.has(g)) return g.clone();
    given.add(g);
    return g;
  });
}

type GradOf<F extends (...args: Tensor[]) => Tensor> = (...args: Parameters<F>) => Tensor;

/**
 * A function computing the gradient of `fn` (which must return one element) with respect
 * to its first argument, or to each argument listed in `argnums`, like `jax.grad` and
 * `torch.func.grad`. Nests: `grad(grad(f))` differentiates twice, because gradients taken
 * of arguments that already require grad are recorded (createGraph).
 *
 * @example
 * const d2 = grad(grad((x) => x.pow(3).sum()));
 * d2(tensor([2], { dtype: 'float64' })); // 6 x = [12]
 *
 * @typeParam F - the function to differentiate: tensors in, one tensor out
 */
export function grad<F extends (...args: Tensor[]) => Tensor>(fn: F): GradOf<F>;
/**
 * `grad(fn, { argnums })`: the gradients of `fn` with respect to each argument listed.
 *
 * @typeParam F - the function to differentiate: tensors in, one tensor out
 */
export function grad<F extends (...args: Tensor[]) => Tensor>(fn: F, options: { argnums: readonly number[] }): (...args: Parameters<F>) => Tensor[];
export function grad(fn: (...args: Tensor[]) => Tensor, options: { argnums?: readonly number[] } = {}): (...args: Tensor[]) => Tensor | Tensor[] {
  const single = options.argnums === undefined;
  const argnums = options.argnums ?? [0];
  return (...args: Tensor[]) => {
    for (const i of argnums) {
      if (!(args[i] instanceof Tensor)) throw new Error(`grad: argument ${i} is not a tensor (argnums ${JSON.stringify(argnums)})`);
    }
    // Arguments already in a graph stay connected (nested grad); others get a tracked handle.
    const outer = argnums.some((i) => args[i]!.requiresGrad) && isGradEnabled();
    const out = tidy(() =>
      enableGrad(() => {
        const lifted = args.map((a, i) => (argnums.includes(i) && !a.requiresGrad ? a.detach().requireGrad() : a));
        const y = fn(...lifted);
        if (!(y instanceof Tensor) || y.size !== 1) {
          throw new Error(`grad: the function must return a one-element tensor, got ${y instanceof Tensor ? fmtShape(y.shape) : typeof y}`);
        }
        const gs = gradients(y, argnums.map((i) => lifted[i]!), { createGraph: outer, allowUnused: true });
        return gs.map((g, k) => g ?? zerosLike(lifted[argnums[k]!]!));
      }),
    );
    return single ? out[0]! : out;
  };
}

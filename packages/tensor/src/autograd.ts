// Reverse-mode automatic differentiation: a topological order of the graph behind the
// output, then each node's gradient rule in reverse order. Gradients of leaves accumulate
// in `.grad` like PyTorch's (call `zeroGrad` / set `.grad = null` between steps).

import type { Tensor } from './tensor.js';
import type { GraphNode } from './op.js';
import { fmtShape } from './shape.js';
import { keep } from './memory.js';
import { add } from './ops/elementwise.js';
import { onesLike } from './creation.js';

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Runs `fn` without recording the graph (inference, optimizer updates), like `torch.no_grad()`.
 *
 * @example
 * const p = noGrad(() => model.forward(x));
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Nodes reachable from `root`, ordered so each comes after every tensor it consumes. */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS: deep graphs (long training unrolls) would overflow the JS stack.
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length > 0) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push([t, true]);
    for (const x of t.node?.inputs ?? []) if (x.requiresGrad && !seen.has(x)) stack.push([x, false]);
  }
  return order;
}

export function backward(root: Tensor, gradient?: Tensor): void {
  if (!root.requiresGrad) {
    throw new Error('backward: the tensor does not require grad (no input had requiresGrad, or it was made under noGrad)');
  }
  let seed: Tensor;
  if (gradient === undefined) {
    if (root.size !== 1) {
      throw new Error(
        `backward: called on a tensor of shape ${fmtShape(root.shape)} without a gradient; ` +
          'only one-element tensors (a loss) can be differentiated implicitly: pass the upstream gradient',
      );
    }
    seed = onesLike(root);
  } else {
    if (gradient.shape.length !== root.shape.length || gradient.shape.some((d, i) => d !== root.shape[i])) {
      throw new Error(`backward: gradient shape ${fmtShape(gradient.shape)} does not match tensor shape ${fmtShape(root.shape)}`);
    }
    seed = gradient;
  }

  const grads = new Map<Tensor, Tensor>([[root, seed]]);
  const order = topoOrder(root);
  const assigned = new Set<Tensor>();
  const prev = gradEnabled;
  gradEnabled = false; // gradients of gradients are not recorded (no double backward)
  try {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!;
      const g = grads.get(t);
      if (g === undefined) continue;
      if (t.node === null) {
        accumulateLeaf(t, g, g === gradient || assigned.has(g));
        assigned.add(g);
        continue;
      }
      const node: GraphNode = t.node;
      if (node.def.grad === 'none') continue;
      const inGrads = node.def.grad(g, { inputs: node.inputs, output: t, attrs: node.attrs });
      node.inputs.forEach((x, k) => {
        const gx = inGrads[k];
        if (!x.requiresGrad || gx === null || gx === undefined) return;
        const prevG = grads.get(x);
        grads.set(x, prevG === undefined ? gx : add(prevG, gx));
      });
    }
  } finally {
    gradEnabled = prev;
  }
}

function accumulateLeaf(t: Tensor, g: Tensor, mustCopy: boolean): void {
  if (t.grad === null) {
    // One tensor can be the gradient of two leaves (add passes dy through): give each its own.
    t.grad = mustCopy ? keep(g.clone()) : g;
  } else {
    // In place, like PyTorch: a reference to `t.grad` taken earlier sees the new sum.
    const sum = add(t.grad, g);
    t.grad.assign(sum);
    sum.dispose();
  }
}

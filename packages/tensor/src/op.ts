// How an op is defined and run. An op is ONE object: shape inference, a kernel per backend
// (the mapped `KernelTable` type makes a missing one a compile error) and a gradient rule
// written with other ops, so it runs on any backend. `runOp` is the only place that turns
// kernels into tensors and records the autograd graph.

import type { DType } from './dtype.js';
import { fmtShape, sizeOf, type Shape } from './shape.js';
import type { KernelInput, KernelTable, TensorMeta } from './backend.js';
import { Storage, Tensor } from './tensor.js';
import { isGradEnabled } from './autograd.js';

export interface GradContext<A> {
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly attrs: A;
}

/**
 * The gradient of each input given the output's gradient `dy` (null for an input that
 * takes none, such as indices). Only called for inputs that need it, but may compute all.
 */
export type GradRule<A> = (dy: Tensor, ctx: GradContext<A>) => readonly (Tensor | null)[];

export interface OpDef<A> {
  readonly name: string;
  /** Validates inputs and attrs (errors name the op and shapes) and gives the output's shape and dtype. */
  readonly infer: (inputs: readonly TensorMeta[], attrs: A) => { shape: Shape; dtype: DType };
  readonly kernels: KernelTable<A>;
  /** The backward rule; 'none' declares the op non-differentiable (comparisons, casts to int). */
  readonly grad: GradRule<A> | 'none';
}

/** Every op defined so far, for tests that check each one is exercised. */
export const opRegistry = new Map<string, OpDef<unknown>>();

export function defineOp<A>(def: OpDef<A>): OpDef<A> {
  if (opRegistry.has(def.name)) throw new Error(`defineOp: op '${def.name}' is defined twice`);
  opRegistry.set(def.name, def as unknown as OpDef<unknown>);
  return def;
}

export interface GraphNode {
  readonly def: OpDef<unknown>;
  readonly inputs: readonly Tensor[];
  readonly attrs: unknown;
}

/** Runs `def` on `inputs`: checks, picks the backend's kernel, wraps the result, records the graph. */
export function runOp<A>(def: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  if (inputs.length === 0) throw new Error(`${def.name}: needs at least one input tensor`);
  for (const t of inputs) {
    if (t.isDisposed) throw new Error(`${def.name}: input ${fmtShape(t.shape)} ${t.dtype} was used after dispose()`);
  }
  const backend = inputs[0]!.backend;
  for (const t of inputs) {
    if (t.backend !== backend) {
      throw new Error(
        `${def.name}: inputs are on different backends (${inputs.map((x) => x.backendName).join(', ')}); ` +
          'move them with `await t.to(name)` first',
      );
    }
  }
  const { shape, dtype } = def.infer(inputs, attrs);
  if (dtype === 'float64' && !backend.supportsFloat64) {
    throw new Error(`${def.name}: float64 is only supported on the cpu backend (this tensor is on ${backend.name})`);
  }
  const out: TensorMeta = { shape, dtype, size: sizeOf(shape) };
  const views: KernelInput<unknown>[] = inputs.map((t) => ({ data: t.storage.handle, shape: t.shape, dtype: t.dtype, size: t.size }));
  const kernel = def.kernels[backend.name] as (b: unknown, i: readonly KernelInput<unknown>[], o: TensorMeta, a: A) => unknown;
  const handle = kernel(backend, views, out, attrs);
  // A kernel that returns an input's storage made a zero-copy view: share, don't copy.
  const shared = inputs.find((t) => t.storage.handle === handle);
  const storage = shared ? shared.storage.retain() : new Storage(backend, (backend.adopt as (h: unknown) => unknown)(handle));
  const result = new Tensor(storage, shape, dtype);
  if (def.grad !== 'none' && isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    result.requiresGrad = true;
    result.node = { def: def as unknown as OpDef<unknown>, inputs, attrs };
  }
  return result;
}

export function meta(t: TensorMeta): string {
  return `${fmtShape(t.shape)} ${t.dtype}`;
}

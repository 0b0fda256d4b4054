// How an op is defined and run. An op is ONE object: shape inference, a kernel per backend
// (the mapped `KernelTable` type makes a missing one a compile error) and a gradient rule
// written with other ops, so it runs on any backend. `runOp` is the only place that turns
// kernels into tensors and records the autograd graph.

import { isFloat, type DType } from './dtype.js';
import { fmtShape, sizeOf, type Shape } from './shape.js';
import type { AnyBackend, BackendName, KernelInput, KernelTable, TensorMeta } from './backend.js';
import { Storage, Tensor } from './tensor.js';
import { isGradEnabled } from './grad-mode.js';
import { GraphNode } from './graph.js';
import { isKernelDebugOn, setRunningOp } from './kernel-debug.js';

/** What a gradient rule sees of the forward call: the saved inputs, output and the op's attributes. */
export interface GradContext<A> {
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly attrs: A;
}

/**
 * The gradient of each input given the output's gradient `dy` (null for an input that
 * takes none, such as indices). Only called for inputs that need it, but may compute all.
 * Backward checks the result: one entry per input, and for every input that requires grad
 * a tensor of its shape and dtype (an input passed twice may take its whole gradient at its
 * first place and null at the others). `ctx.inputs[k].requiresGrad` says which are needed.
 */
export type GradRule<A> = (dy: Tensor, ctx: GradContext<A>) => readonly (Tensor | null)[];

/** One op: its name, shape inference, a kernel per backend and its gradient rule (see `defineOp`). */
export interface OpDef<A> {
  readonly name: string;
  /** Validates inputs and attrs (errors name the op and shapes) and gives the output's shape and dtype. */
  readonly infer: (inputs: readonly TensorMeta[], attrs: A) => { shape: Shape; dtype: DType };
  readonly kernels: KernelTable<A>;
  /**
   * The backward rule. 'none' declares a zero gradient (comparisons, casts to int, sign):
   * the output does not require grad. 'notImplemented' is for kernels that only run inside
   * other ops' gradients (fused backward kernels): they are differentiable in principle but
   * have no rule, so a double backward that reaches one raises instead of returning zeros.
   */
  readonly grad: GradRule<A> | 'none' | 'notImplemented';
  /** Inputs the kernels write in place (running statistics): their storage version is bumped. */
  readonly mutates?: readonly number[];
}

/** Every op defined so far, for tests that check each one is exercised. */
export const opRegistry = new Map<string, OpDef<unknown>>();

/** Registers an op (its name must be new) and returns it, for `runOp(op, inputs, attrs)`. */
export function defineOp<A>(def: OpDef<A>): OpDef<A> {
  if (opRegistry.has(def.name)) throw new Error(`defineOp: op '${def.name}' is defined twice`);
  opRegistry.set(def.name, def as unknown as OpDef<unknown>);
  return def;
}

type OpListener = (op: string, backend: BackendName) => void;
const listeners: OpListener[] = [];

/**
 * Runs `fn` and calls `onOp(name, backend)` for every op it runs, forward and backward
 * alike: instrumentation for coverage tests, which thus learn what a case actually ran
 * rather than trusting its label.
 *
 * @example
 * const ran = new Set<string>();
 * traceOps(() => softmax(x).sum().backward(), (op) => ran.add(op)); // softmax, sum, expand, softmaxBackward, ...
 */
export function traceOps<T>(fn: () => T, onOp: OpListener): T {
  listeners.push(onOp);
  try {
    return fn();
  } finally {
    listeners.splice(listeners.indexOf(onOp), 1);
  }
}

/**
 * @internal What `profile` (profile.ts) watches: `before` is called just before a kernel runs,
 * `after` once its output is owned by a storage (so the backend's memory counts it), with
 * what `before` returned.
 */
export interface KernelWatcher {
  before(op: string, backend: AnyBackend): number;
  after(op: string, backend: AnyBackend, started: number, output: unknown, isNew: boolean): void;
}

let watcher: KernelWatcher | null = null;

/** @internal Installs (or, with null, removes) the one kernel watcher; `profile` does. */
export function setKernelWatcher(w: KernelWatcher | null): void {
  watcher = w;
}

/** Runs `def` on `inputs`: checks, picks the backend's kernel, wraps the result, records the graph. */
export function runOp<A>(def: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  if (inputs.length === 0) throw new Error(`${def.name}: needs at least one input tensor`);
  for (const t of inputs) {
    if (t.isDisposed) throw new Error(`${def.name}: input ${fmtShape(t.shape)} ${t.dtype} was used after dispose()`);
    if (t.staleError !== null) throw new Error(`${def.name}: ${t.staleError}`);
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
  for (const l of listeners) l(def.name, backend.name);
  if (dtype === 'float64' && !backend.supportsFloat64) {
    throw new Error(`${def.name}: float64 is only supported on the cpu backend (this tensor is on ${backend.name})`);
  }
  const out: TensorMeta = { shape, dtype, size: sizeOf(shape) };
  const views: KernelInput<unknown>[] = inputs.map((t) => ({ data: t.storage.handle, shape: t.shape, dtype: t.dtype, size: t.size }));
  const kernel = def.kernels[backend.name] as (b: unknown, i: readonly KernelInput<unknown>[], o: TensorMeta, a: A) => unknown;
  // With kernel printing on (AITM_DEBUG=wgsl), the pipeline cache learns which op and shapes it compiles for.
  const debugging = isKernelDebugOn();
  if (debugging) setRunningOp({ op: def.name, inputs: views.map(({ shape, dtype }) => ({ shape, dtype })), output: { shape, dtype } });
  const watch = watcher; // profile(): time and memory per op
  const started = watch?.before(def.name, backend) ?? 0;
  let handle: unknown;
  try {
    handle = kernel(backend, views, out, attrs);
  } finally {
    if (debugging) setRunningOp(null);
  }
  // A kernel that returns an input's storage made a zero-copy view: share, don't copy.
  const shared = inputs.find((t) => t.storage.handle === handle);
  const storage = shared ? shared.storage.retain() : new Storage(backend, (backend.adopt as (h: unknown) => unknown)(handle));
  watch?.after(def.name, backend, started, storage.handle, !shared);
  const result = new Tensor(storage, shape, dtype);
  for (const k of def.mutates ?? []) inputs[k]?.storage.bumpVersion();
  // Only floating-point results carry gradients (a cast to int32, an argmax), as in PyTorch.
  if (def.grad !== 'none' && isFloat(dtype) && isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    result.requiresGrad = true;
    result.node = new GraphNode(def as unknown as OpDef<unknown>, attrs, inputs, result);
  }
  return result;
}

export function meta(t: TensorMeta): string {
  return `${fmtShape(t.shape)} ${t.dtype}`;
}

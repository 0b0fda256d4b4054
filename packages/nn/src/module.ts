// The Module base class (parameters, buffers, submodules, train/eval, state dicts with
// PyTorch's dotted names) and the containers ModuleList, ModuleDict and Sequential.
//
// Registration happens on assignment, as in PyTorch: `this.fc = new Linear(4, 2)` registers
// a child named 'fc', `this.w = randn([3], { requiresGrad: true })` a parameter named 'w'
// (a float leaf that requires grad is this library's `nn.Parameter`), and assigning a tensor
// to a name already registered as a parameter or buffer replaces it. The constructor returns
// a Proxy whose `defineProperty` trap does this (class fields and plain assignments both
// reach it). Explicit `registerParameter` / `registerBuffer` / `registerModule` still work and
// fix the PyTorch name where it differs from the field's (`running_mean` vs `runningMean`);
// a value registered explicitly is not registered again under its field's name. Either way
// the registration order is the state-dict order a PyTorch checkpoint has.

import { cast, fmtShape, fromTypedArray, keep, noGrad, tidy, Tensor, type DType } from '@aitm/tensor';

/** Options of `loadStateDict`. */
export interface LoadStateDictOptions {
  /** Missing and unexpected keys are errors (default true). Shape and dtype mismatches always are. */
  strict?: boolean;
}

/** What `loadStateDict` did not match (with `strict: false`): missing and unexpected keys. */
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/**
 * Base class of every layer. Subclasses assign their children and parameters to fields (or
 * register them explicitly, to choose a PyTorch name different from the field's) and define
 * `forward` with whatever signature suits them.
 *
 * Assignment registers, as in PyTorch: a `Module` value becomes a child named after the
 * field; a float leaf tensor that requires grad (PyTorch's `nn.Parameter`) becomes a
 * parameter; a tensor assigned to a name already registered as a parameter or buffer
 * replaces it. Plain tensors (not requiring grad) stay plain fields, as in PyTorch: use
 * `registerBuffer` for state that belongs in the state dict. Arrays of modules are not
 * registered (use `ModuleList`), as in PyTorch.
 *
 * @example
 * class TwoHeads extends Module {
 *   emb = new Embedding(100, 8);                                   // child 'emb'
 *   scale = ones([8]).requireGrad();                               // parameter 'scale'
 *   ctr = new Linear(8, 1);
 *   cvr = new Linear(8, 1);
 *   forward(ids: Tensor): Tensor[] {
 *     const h = mul(this.emb.forward(ids), this.scale);
 *     return [this.ctr.forward(h), this.cvr.forward(h)];
 *   }
 * }
 * new TwoHeads().namedParameters().map(([k]) => k);
 * // ['scale', 'emb.weight', 'ctr.weight', 'ctr.bias', 'cvr.weight', 'cvr.bias']
 */
export abstract class Module {
  /** Train mode (the default): BatchNorm uses batch statistics, Dropout drops. */
  training = true;
  // Not #private: methods run with `this` the Proxy, which #private fields would refuse.
  private readonly _params = new Map<string, Tensor>();
  private readonly _buffers = new Map<string, Tensor>();
  private readonly _nonPersistent = new Set<string>();
  private readonly _children = new Map<string, Module>();

  constructor() {
    // Every `this.x = v` of a subclass (class fields included) goes through this trap.
    return new Proxy(this, REGISTER_ON_ASSIGN);
  }

  /**
   * @internal What an assignment `this[name] = value` registers (called by the Proxy trap):
   * see the class comment.
   */
  registerOnAssign(name: string, value: unknown): void {
    if (value instanceof Module) {
      if (this._children.get(name) === value) return;
      if (this._params.has(name) || this._buffers.has(name)) {
        throw new Error(`${this.className}: cannot assign a module to '${name}', which is registered as a ${this._params.has(name) ? 'parameter' : 'buffer'}`);
      }
      for (const c of this._children.values()) if (c === value) return; // registered explicitly under its PyTorch name
      if (this._children.has(name)) this._children.set(name, value);
      else this.registerModule(name, value);
      return;
    }
    if (value instanceof Tensor) {
      if (this._params.has(name)) {
        if (this._params.get(name) !== value) this._params.set(name, keep(value).requireGrad());
        return;
      }
      if (this._buffers.has(name)) {
        if (this._buffers.get(name) !== value) this._buffers.set(name, keep(value));
        return;
      }
      if (this._children.has(name)) throw new Error(`${this.className}: cannot assign a tensor to '${name}', which is registered as a module`);
      for (const t of this._params.values()) if (t === value) return;
      for (const t of this._buffers.values()) if (t === value) return;
      // requiresGrad implies a float dtype (requireGrad refuses others).
      if (value.requiresGrad && value.isLeaf) this.registerParameter(name, value);
      return;
    }
    if (value === null || value === undefined) {
      // PyTorch's `self.fc = None` on a registered name: it is no longer part of the module.
      this._params.delete(name);
      this._buffers.delete(name);
      this._nonPersistent.delete(name);
      this._children.delete(name);
    }
  }

  /** The layer's computation. Modules that only hold others (ModuleList, ModuleDict) throw. */
  abstract forward(...args: never[]): unknown;

  /**
   * Registers `t` as a trainable parameter named `name` (it is set to require grad and kept
   * out of `tidy` scopes, since the module owns it until `dispose()`). Returns `t`.
   */
  registerParameter(name: string, t: Tensor): Tensor {
    this.checkName(name);
    if (t.dtype === 'int32') throw new Error(`${this.className}.registerParameter: parameter '${name}' must be floating-point, got int32`);
    this._params.set(name, keep(t).requireGrad());
    return t;
  }

  /**
   * Registers `t` as a buffer (state that is saved but not trained, like BatchNorm's running
   * statistics). Non-persistent buffers are left out of the state dict. Returns `t`.
   */
  registerBuffer(name: string, t: Tensor, opts: { persistent?: boolean } = {}): Tensor {
    this.checkName(name);
    this._buffers.set(name, keep(t));
    if (opts.persistent === false) this._nonPersistent.add(name);
    return t;
  }

  /** Registers a child module; its tensors are named `name.<their name>`. Returns `m`. */
  registerModule<M extends Module>(name: string, m: M): M {
    if (this._children.get(name) === m) return m; // already registered by assignment
    this.checkName(name);
    this._children.set(name, m);
    return m;
  }

  private checkName(name: string): void {
    if (name === '' || name.includes('.')) {
      throw new Error(`${this.className}: invalid name '${name}' (names must be non-empty and contain no '.')`);
    }
    if (this._params.has(name) || this._buffers.has(name) || this._children.has(name)) {
      throw new Error(`${this.className}: '${name}' is already registered`);
    }
  }

  protected get className(): string {
    return this.constructor.name;
  }

  /** Direct children, in registration order, with their names. */
  namedChildren(): [string, Module][] {
    return [...this._children];
  }

  /** This module and all below it, depth first, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this._children) out.push(...child.namedModules(join(prefix, name)));
    return out;
  }

  /**
   * Every parameter with its dotted PyTorch name (`mlp.0.weight`), in PyTorch's order: each
   * module's own parameters, then its children's. A tensor registered twice appears once.
   */
  namedParameters(): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, t] of m._params) {
        if (seen.has(t)) continue;
        seen.add(t);
        out.push([join(prefix, name), t]);
      }
    }
    return out;
  }

  /** Every parameter of this module and its submodules (each once), as `torch.nn.Module.parameters()`. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Every buffer with its dotted name (persistent or not). */
  namedBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) for (const [name, t] of m._buffers) out.push([join(prefix, name), t]);
    return out;
  }

  /** Sets train mode on this module and every descendant. Returns this. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /** Sets eval mode (BatchNorm uses running statistics, Dropout is the identity). Returns this. */
  eval(): this {
    return this.train(false);
  }

  /**
   * The state dict's names with the module's own tensors (not copies: do not dispose them),
   * in PyTorch's order: per module, its parameters, then its persistent buffers.
   */
  stateEntries(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, t] of m._params) out.push([join(prefix, name), t]);
      for (const [name, t] of m._buffers) if (!m._nonPersistent.has(name)) out.push([join(prefix, name), t]);
    }
    return out;
  }

  /**
   * Parameters and persistent buffers by PyTorch name, `num_batches_tracked` included (as an
   * int32 tensor). The values are detached views sharing storage: a snapshot of the current
   * state (optimizer steps replace storage, they do not write into it). Dispose them, or call
   * this inside `tidy`.
   *
   * @example
   * const sd = model.stateDict(); // { 'mlp.0.weight': ..., 'mlp.1.running_mean': ..., ... }
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, t] of this.stateEntries()) out[name] = t.detach();
    return out;
  }

  /**
   * Copies values from `sd` into this module's parameters and buffers, in place (tensor
   * identities are kept, so optimizers holding them see the new values). Everything is
   * validated first and one error names every missing, unexpected, mis-shaped or
   * wrong-kind (int vs float) key; nothing is changed when it throws. Float values are cast
   * to the module's dtype; CPU values are uploaded to the module's backend.
   *
   * @example
   * model.loadStateDict(other.stateDict());
   */
  loadStateDict(sd: Readonly<Record<string, Tensor>>, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = opts.strict ?? true;
    const slots = this.stateEntries();
    const problems = new StateDictProblems();
    const known = new Set(slots.map(([name]) => name));
    const missingKeys = slots.filter(([name]) => !Object.hasOwn(sd, name)).map(([name]) => name);
    const unexpectedKeys = Object.keys(sd).filter((k) => !known.has(k));
    if (strict) {
      problems.missing.push(...missingKeys);
      problems.unexpected.push(...unexpectedKeys);
    }
    for (const [name, target] of slots) {
      const src = Object.hasOwn(sd, name) ? sd[name] : undefined;
      if (src === undefined) continue;
      problems.check(name, src.shape, src.dtype === 'int32' ? 'int' : 'float', target);
      if (src.backendName !== target.backendName && src.backendName !== 'cpu') {
        const where = `the value is on ${src.backendName} and the module on ${target.backendName}`;
        problems.other.push(`${name}: ${where}; move it to the cpu first (await t.to('cpu'))`);
      }
    }
    problems.throwIfAny(`loadStateDict: error(s) in loading the state dict for ${this.className}`);
    noGrad(() => {
      for (const [name, target] of slots) {
        const src = Object.hasOwn(sd, name) ? sd[name] : undefined;
        if (src === undefined) continue;
        const value = moveTo(src, target.dtype, target);
        target.assign(value);
        value.dispose();
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  /** Frees every parameter, buffer and gradient of this module and its descendants. */
  dispose(): void {
    for (const [, m] of this.namedModules()) {
      for (const t of [...m._params.values(), ...m._buffers.values()]) {
        t.grad?.dispose();
        t.grad = null;
        t.dispose();
      }
    }
  }
}

const REGISTER_ON_ASSIGN: ProxyHandler<Module> = {
  defineProperty(target, key, desc) {
    if (typeof key === 'string' && 'value' in desc) target.registerOnAssign(key, desc.value);
    return Reflect.defineProperty(target, key, desc);
  },
};

/** A copy of `src` with `dtype`, on `like`'s backend. */
function moveTo(src: Tensor, dtype: DType, like: Tensor): Tensor {
  if (src.backendName === like.backendName) return cast(src, dtype, true);
  // Only reached for CPU sources (checked above), which can be read synchronously.
  const host = cast(src, dtype, true);
  const out = fromTypedArray(host.dataSync(), src.shape, dtype, { backend: like.backendName });
  host.dispose();
  return out;
}

function join(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

/**
 * Collects everything wrong with a state dict, to throw once, in PyTorch's wording:
 * missing keys, unexpected keys, size mismatches, then anything else.
 */
export class StateDictProblems {
  readonly missing: string[] = [];
  readonly unexpected: string[] = [];
  readonly other: string[] = [];

  /** Records a shape or kind mismatch between a stored value and the module's tensor. */
  check(name: string, shape: readonly number[], kind: 'int' | 'float', target: Tensor, what = 'dtype'): void {
    if (shape.length !== target.shape.length || shape.some((d, i) => d !== target.shape[i])) {
      this.other.push(
        `size mismatch for ${name}: copying a param with shape ${fmtShape(shape)} from checkpoint, ` +
          `the shape in current model is ${fmtShape(target.shape)}`,
      );
    }
    const targetKind = target.dtype === 'int32' ? 'int' : 'float';
    if (kind !== targetKind) {
      const held = kind === 'int' ? 'integers' : 'floats';
      this.other.push(`${what} mismatch for ${name}: the checkpoint holds ${held}, the model ${target.dtype}`);
    }
  }

  /** Throws one error listing every problem found, under `title`, if there is any. */
  throwIfAny(title: string): void {
    const lines: string[] = [];
    const quote = (ks: string[]): string => ks.map((k) => `"${k}"`).join(', ');
    if (this.missing.length > 0) lines.push(`Missing key(s) in state_dict: ${quote(this.missing)}.`);
    if (this.unexpected.length > 0) lines.push(`Unexpected key(s) in state_dict: ${quote(this.unexpected)}.`);
    lines.push(...this.other);
    if (lines.length > 0) throw new Error(`${title}:\n\t${lines.join('\n\t')}`);
  }
}

/** A module whose forward maps one tensor to one tensor: what Sequential chains. */
export type Layer = Module & {
  /** Maps one tensor to one tensor. */
  forward(x: Tensor): Tensor;
};

/**
 * A list of modules named '0', '1', ... like `torch.nn.ModuleList`.
 *
 * @example
 * const towers = new ModuleList([new Linear(4, 1), new Linear(4, 1)]);
 * towers.at(1); // parameters named '1.weight', '1.bias'
 */
export class ModuleList<M extends Module = Module> extends Module implements Iterable<M> {
  private readonly items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Adds a module at the end (named by its index). */
  append(m: M): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }

  /** The number of modules. */
  get length(): number {
    return this.items.length;
  }

  /** The i-th module (negative i counts from the end); throws when out of range. */
  at(i: number): M {
    const m = this.items[i < 0 ? i + this.items.length : i];
    if (m === undefined) throw new Error(`${this.constructor.name}: index ${i} is out of range for ${this.items.length} modules`);
    return m;
  }

  /** The modules in order. */
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }

  /** A list has no forward of its own, as in PyTorch: call its modules (Sequential chains them). */
  forward(..._args: never[]): unknown {
    throw new Error('ModuleList has no forward: call its modules');
  }
}

/**
 * Modules by name, in insertion order, like `torch.nn.ModuleDict`.
 *
 * @example
 * const d = new ModuleDict({ user: new Embedding(10, 4) }); // 'user.weight'
 */
export class ModuleDict<M extends Module = Module> extends Module {
  private readonly items = new Map<string, M>();

  constructor(modules: Record<string, M> | Iterable<[string, M]> = {}) {
    super();
    const entries = Symbol.iterator in modules ? modules : Object.entries(modules);
    for (const [k, m] of entries as Iterable<[string, M]>) this.set(k, m);
  }

  /** Adds or replaces the module called `name`. */
  set(name: string, m: M): this {
    this.registerModule(name, m);
    this.items.set(name, m);
    return this;
  }

  /** Whether a module is called `name`. */
  has(name: string): boolean {
    return this.items.has(name);
  }

  /** The module named `name`; throws naming the known keys when absent. */
  get(name: string): M {
    const m = this.items.get(name);
    if (m === undefined) throw new Error(`ModuleDict: no module '${name}' (keys: ${[...this.items.keys()].join(', ')})`);
    return m;
  }

  /** The names, in insertion order. */
  keys(): string[] {
    return [...this.items.keys()];
  }

  /** The (name, module) pairs, in insertion order. */
  entries(): [string, M][] {
    return [...this.items];
  }

  /** The number of modules. */
  get size(): number {
    return this.items.size;
  }

  forward(): never {
    throw new Error('ModuleDict has no forward: call its modules');
  }
}

/**
 * Layers applied in order, named '0', '1', ... like `torch.nn.Sequential`.
 *
 * @example
 * const net = new Sequential(new Linear(4, 3), new Tanh(), new Linear(3, 1));
 * net.forward(x); // parameter names '0.weight', '0.bias', '2.weight', '2.bias'
 */
export class Sequential extends ModuleList<Layer> {
  constructor(...layers: Layer[]) {
    super(layers);
  }

  override forward(x: Tensor): Tensor {
    // Each layer's output but the last is freed here; the graph keeps what backward needs.
    return tidy(() => {
      let y = x;
      for (const l of this) y = l.forward(y);
      return y;
    });
  }
}

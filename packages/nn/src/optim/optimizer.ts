// The Optimizer base: holds the parameters and per-parameter state tensors, runs each step
// without autograd inside `tidy`, and replaces values in place with `assign`, so parameter
// identities (held by modules) never change and temporaries are freed every step.

import { flushGpu, keep, memory, noGrad, tidy, zerosLike, type Tensor } from '@aitm/tensor';

/** What an optimizer keeps per parameter: a step count and named state tensors. */
export interface ParamState {
  /** Steps taken for this parameter (parameters without a gradient are skipped, as in PyTorch). */
  step: number;
  readonly tensors: Map<string, Tensor>;
}

/** What every optimizer shares: its parameters, `step()` and `zeroGrad()`. */
export abstract class Optimizer {
  /**
   * `step()` warns (once per optimizer, on the console) when the number of live tensors has
   * grown at each of this many consecutive steps: a training loop written as in PyTorch, without
   * `tidy` or `dispose()`, leaks every intermediate, since nothing here is garbage collected.
   * 0 turns the check off (a loop that keeps a tensor per step on purpose).
   *
   * @example
   * Optimizer.leakWarningSteps = 0; // this program keeps every step's loss tensor
   */
  static leakWarningSteps = 20;
  readonly params: readonly Tensor[];
  /** Learning rate; may be changed between steps (schedules). */
  lr: number;
  protected readonly state = new Map<Tensor, ParamState>();
  private readonly leakWatch = { last: -1, rising: 0, warned: false };

  constructor(params: Iterable<Tensor>, lr: number) {
    // A parameter listed twice would be updated twice per step.
    this.params = [...new Set(params)];
    if (this.params.length === 0) throw new Error(`${this.constructor.name}: got an empty parameter list`);
    for (const p of this.params) {
      if (p.dtype === 'int32') throw new Error(`${this.constructor.name}: parameters must be floating-point, got an int32 tensor`);
    }
    if (!(lr >= 0)) throw new Error(`${this.constructor.name}: invalid learning rate ${lr}`);
    this.lr = lr;
  }

  /** Disposes every parameter's gradient and sets it to null (PyTorch's set_to_none). */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    tidy(() =>
      noGrad(() => {
        for (const p of this.params) {
          if (p.grad === null) continue;
          let s = this.state.get(p);
          if (s === undefined) {
            s = { step: 0, tensors: new Map() };
            this.state.set(p, s);
          }
          s.step++;
          this.update(p, p.grad, s);
        }
      }),
    );
    endOfStep();
    this.watchForLeaks();
  }

  /**
   * Counts consecutive steps after which more tensors are alive than after the previous one,
   * and warns once at `Optimizer.leakWarningSteps`. Every `step()` ends with it (subclasses
   * overriding `step` call it too).
   */
  protected watchForLeaks(): void {
    const n = Optimizer.leakWarningSteps;
    const w = this.leakWatch;
    if (n <= 0 || w.warned) return;
    const live = memory().tensors;
    w.rising = w.last >= 0 && live > w.last ? w.rising + 1 : 0;
    w.last = live;
    if (w.rising < n) return;
    w.warned = true;
    console.warn(
      `${this.constructor.name}.step(): the number of live tensors grew at each of the last ${n} steps (${live} now): ` +
        'tensors made in the training loop are never freed, since nothing is garbage collected. Run each step in ' +
        '`tidy(() => { ... })` (it frees what the step made; return the loss to keep it) or dispose() what you keep ' +
        '(see "Memory: who frees what" in the @aitm/tensor README). If the growth is intended, set Optimizer.leakWarningSteps = 0.',
    );
  }

  /** Computes and assigns the new value of `p` (and its state) from its gradient `g`. */
  protected abstract update(p: Tensor, g: Tensor, s: ParamState): void;

  /** The state tensor `name` of a parameter, created as zeros on first use (kept until dispose). */
  protected stateTensor(s: ParamState, name: string, like: Tensor): Tensor {
    let t = s.tensors.get(name);
    if (t === undefined) {
      t = keep(zerosLike(like));
      s.tensors.set(name, t);
    }
    return t;
  }

  /** Read-only view of a parameter's state (for tests and checkpoints). */
  stateOf(p: Tensor): Readonly<ParamState> | undefined {
    return this.state.get(p);
  }

  /** Frees the state tensors (the parameters belong to the model). */
  dispose(): void {
    for (const s of this.state.values()) for (const t of s.tensors.values()) t.dispose();
    this.state.clear();
  }
}

/**
 * An optimizer step ends a training step: submit the GPU work recorded for it, so the step
 * is one submission and buffers are handed out the same way every step (see `flushGpu`).
 */
export function endOfStep(): void {
  flushGpu();
}

/** Replaces each `target`'s values with the matching `value`'s (same shapes), in place. */
export function assignAll(pairs: readonly (readonly [Tensor, Tensor])[]): void {
  for (const [target, value] of pairs) target.assign(value);
}

// Whether ops record the autograd graph: on by default, off inside `noGrad`. A leaf module,
// so that runOp (which reads the mode) does not import the backward pass (which runs ops).

let gradEnabled = true;

/** Whether ops run now record the graph (false inside `noGrad`), like `torch.is_grad_enabled()`. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** @internal Sets the mode and returns the previous one, for the backward pass (restore it in a `finally`). */
export function setGradEnabled(enabled: boolean): boolean {
  const prev = gradEnabled;
  gradEnabled = enabled;
  return prev;
}

function withGrad<T>(enabled: boolean, fn: () => T): T {
  const prev = setGradEnabled(enabled);
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Runs `fn` without recording the graph (inference, optimizer updates), like `torch.no_grad()`.
 *
 * @example
 * const p = noGrad(() => model.forward(x));
 */
export function noGrad<T>(fn: () => T): T {
  return withGrad(false, fn);
}

/** Runs `fn` with graph recording on, even inside `noGrad`, like `torch.enable_grad()`. */
export function enableGrad<T>(fn: () => T): T {
  return withGrad(true, fn);
}

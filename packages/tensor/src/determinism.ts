// Whether kernels must give the same bits on every run. The CPU and wasm kernels always do
// (they add in a fixed order); on WebGPU the scatter-adds (gather's and gatherConcat's
// gradients, scatterAddAlong) have two forms: a fixed-order one, the default, and an
// atomic one whose additions into a repeated row happen in whatever order the GPU's threads
// arrive, so the last bits of a sum (and everything trained from it) vary run to run.

let deterministic = true;

/**
 * Picks the WebGPU scatter-add kernels: `true` (the default) sums the values aimed at each
 * output row in index order (the same bits every run); `false` takes the atomic kernels,
 * faster on some devices but run-to-run different in the last bits. CPU and wasm kernels are
 * deterministic either way.
 *
 * @example
 * setDeterministic(false); // benchmark the atomic scatter-adds
 */
export function setDeterministic(on: boolean): void {
  deterministic = on;
}

/** Whether the WebGPU scatter-adds run in fixed order (see `setDeterministic`). */
export function isDeterministic(): boolean {
  return deterministic;
}

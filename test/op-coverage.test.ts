// Every registered op of every package, checked three ways against references that are not
// the code itself, with coverage that cannot be fooled: each case records which ops it
// actually ran (traceOps, instrumented dispatch), not what its label says.
//   1. PyTorch: forward values and gradients (of sum(output * grad_output)) on the CPU
//      backend in float64 against golden fixtures made with torch (test/fixtures/*.json).
//   2. Finite differences: gradcheck of the case's function on the CPU in float64.
//   3. WebGPU: the same case in float32 on the GPU against the same PyTorch values,
//      forward and gradient (parity with the CPU float64 oracle through the fixture).
//   4. wasm: the same case in float32 on the WebAssembly backend, as for WebGPU.
//   5. Double backward: gradcheck of the case's gradient recorded with createGraph, so
//      every rule is itself differentiable (an explicit, commented list is exempt).
// The last test asserts every op in the registry passed all that apply to it: differentiable
// ops all three; ops without a gradient (comparisons, argmax, casts) the forward checks;
// kernels that only run inside other ops' gradients ('notImplemented') must have run, on
// every backend, inside a gradient that matched PyTorch.

import { afterAll, describe, expect, it } from 'vitest';
import * as T from '@aitm/tensor';
import type { Tensor } from '@aitm/tensor';
import { checkFloat32, compare, fromFixture, runCase, runFixtureOp, scaleOf } from './fixture-ops.js';
import { opCases } from './fixture-cases.js';

const gpu = await T.tryInitWebGpu();
await T.initWasm();
afterAll(() => T.disposeWebGpu());

type Check = 'pytorch' | 'gradcheck' | 'webgpu' | 'wasm' | 'double backward';
/** op name -> check -> the cases that exercised it and passed. */
const covered = new Map<string, Map<Check, Set<string>>>();
function record(ops: Iterable<string>, check: Check, caseName: string): void {
  for (const op of ops) {
    const byCheck = covered.get(op) ?? new Map<Check, Set<string>>();
    covered.set(op, byCheck);
    const set = byCheck.get(check) ?? new Set<string>();
    byCheck.set(check, set);
    set.add(caseName);
  }
}

// Finite differences are meaningless where the function has a kink under the step (ties
// of min/max split the gradient evenly; the one-sided derivatives differ there).
const GRADCHECK_SKIP = /_ties/;

/**
 * Ops whose gradient is not differentiable again here, each for a stated reason; a double
 * backward through them raises (it never returns a silent zero).
 */
const DOUBLE_BACKWARD_EXEMPT = new Map([
  // AITM's fused attention core and loss: their gradients are single kernels with no rule
  // of their own; their composed references (AttentionLayer.attendComposed,
  // aitmLossReference) are what a user differentiates twice.
  ['aitmAttention', 'fused kernel gradient'],
  ['aitmLoss', 'fused kernel gradient'],
]);

describe('every op: PyTorch fixtures (CPU float64), gradcheck, WebGPU and wasm (float32)', () => {
  for (const c of opCases()) {
    it(`${c.name}: CPU float64 vs PyTorch, forward${c.grads ? ' and gradient' : ''}`, async () => {
      const r = await runCase(c, 'cpu');
      compare(`${c.name} forward`, r.y.dataSync(), r.y.shape, c.output, { atol: 1e-12 * Math.max(1, scaleOf(c.output)), rtol: 1e-10 });
      r.grads.forEach((g, k) => {
        if (c.grads![k]) compare(`${c.name} gradient of input ${k}`, g!.dataSync(), g!.shape, c.grads![k]!, { atol: 1e-12 * Math.max(1, scaleOf(c.grads![k]!)), rtol: 1e-10 });
      });
      record(r.forwardOps, 'pytorch', c.name);
      // Kernels that only run inside gradients are checked by the gradient they helped compute.
      record([...r.backwardOps].filter((op) => T.opRegistry.get(op)?.grad === 'notImplemented'), 'pytorch', c.name);
    });

    if (c.grads !== null && !GRADCHECK_SKIP.test(c.name)) {
      it(`${c.name}: gradcheck (float64 central differences)`, () => {
        const inputs = c.inputs.map((f, k) => {
          const t = fromFixture(f, 'cpu', 'float64');
          return c.grads![k] ? t.requireGrad() : t;
        });
        const ops = new Set<string>();
        T.traceOps(() => T.gradcheck((...xs) => runFixtureOp(c.op, xs, c.attrs), inputs), (op) => ops.add(op));
        record(ops, 'gradcheck', c.name);
      });
    }

    if (c.grads !== null && !GRADCHECK_SKIP.test(c.name) && !DOUBLE_BACKWARD_EXEMPT.has(c.op)) {
      it(`${c.name}: double backward (gradcheck of the recorded gradient)`, () => {
        const inputs = c.inputs.map((f, k) => {
          const t = fromFixture(f, 'cpu', 'float64');
          return c.grads![k] ? t.requireGrad() : t;
        });
        const k = c.grads!.findIndex((g) => g !== null);
        const cot = fromFixture(c.grad_output!, 'cpu', 'float64');
        const ops = new Set<string>();
        // x -> d sum(f(x) * cot) / dx_k, with the gradient's own graph recorded.
        // A gradient that does not depend on the inputs (add's) has a zero second derivative:
        // adding 0 * sum(x) for each input keeps gradcheck comparing that zero with differences.
        const gradFn = (...xs: Tensor[]) => {
          const g = T.gradients(T.sum(T.mul(runFixtureOp(c.op, xs, c.attrs), cot)), [xs[k]!], { createGraph: true })[0]!;
          return xs.reduce((acc, x) => (x.requiresGrad ? T.add(acc, T.mul(T.sum(x), 0)) : acc), g);
        };
        T.traceOps(() => T.gradcheck(gradFn, inputs), (op) => ops.add(op));
        record(ops, 'double backward', c.name);
      });
    }

    it.runIf(gpu)(`${c.name}: WebGPU float32 vs PyTorch, forward${c.grads ? ' and gradient' : ''}`, async () => {
      const r = await runCase(c, 'webgpu');
      await checkFloat32(c, r);
      record(r.forwardOps, 'webgpu', c.name);
      record([...r.backwardOps].filter((op) => T.opRegistry.get(op)?.grad === 'notImplemented'), 'webgpu', c.name);
    });

    it(`${c.name}: wasm float32 vs PyTorch, forward${c.grads ? ' and gradient' : ''}`, async () => {
      const r = await runCase(c, 'wasm');
      await checkFloat32(c, r);
      record(r.forwardOps, 'wasm', c.name);
      record([...r.backwardOps].filter((op) => T.opRegistry.get(op)?.grad === 'notImplemented'), 'wasm', c.name);
    });
  }

  it('covers every registered op in tensor, nn and aitm with every check that applies', () => {
    // The registry must hold the other packages' ops too, or this test would pass vacuously.
    expect([...T.opRegistry.keys()]).toEqual(expect.arrayContaining(['aitmAttention', 'aitmAttentionGrad', 'aitmLoss', 'linear', 'gatherAlong']));
    const missing: string[] = [];
    for (const [name, def] of T.opRegistry) {
      const checks: Check[] = typeof def.grad === 'function' ? ['pytorch', 'gradcheck', 'webgpu', 'wasm'] : ['pytorch', 'webgpu', 'wasm'];
      if (typeof def.grad === 'function' && !DOUBLE_BACKWARD_EXEMPT.has(name)) checks.push('double backward');
      for (const check of checks) {
        if (check === 'webgpu' && !gpu) continue;
        if (!covered.get(name)?.get(check)?.size) missing.push(`${name}: ${check}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

// Forward values of the ops against PyTorch (float64 golden fixtures from
// fixtures/gen_ops.py): shapes and values must agree to float64 rounding.

import { describe, expect, it } from 'vitest';
import { expectClose, fromFixture, loadOpCases, runFixtureOp } from './helpers.js';

describe('ops match PyTorch float64 fixtures', () => {
  for (const c of loadOpCases()) {
    it(c.name, () => {
      const inputs = c.inputs.map((f) => fromFixture(f));
      const y = runFixtureOp(c.op, inputs, c.attrs);
      expect(y.shape).toEqual(c.output.shape);
      expectClose(y.dataSync(), c.output.data, 1e-300, 1e-12);
    });
  }
});

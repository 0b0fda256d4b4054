// A run that goes non-finite stops with an error and writes no model, even when its loss
// stays finite (the clamped BCE): the trainer checks the parameters, their gradients and the
// running statistics on the GPU whenever it reads the loss back.

import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkHealth } from '../src/train/health.js';
import { trainCommand } from '../src/node.js';

describe('divergence', () => {
  it('--lr 1e6 stops with an error naming the epoch, the step and what went non-finite, and writes no model', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'aitm-diverge-')), 'run');
    await expect(
      trainCommand({ syntheticRows: 6000, epochs: 2, batchSize: 256, lr: 1e6, backend: 'cpu', out, quiet: true, log: () => {} }),
    ).rejects.toThrow(/^training diverged at epoch \d+, step \d+: .*(inf or NaN|the loss is).*Try a lower learning rate \(--lr, now 1000000\)/);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(false);
  });

  it('names every part that went bad', () => {
    expect(() => checkHealth([0.5, 0, 0, 3], { epoch: 2, step: 40, lr: 0.5 })).toThrow(
      'training diverged at epoch 2, step 40: 3 value(s) of a running statistic are inf or NaN. Try a lower learning rate (--lr, now 0.5)',
    );
    expect(() => checkHealth([NaN, 2, 1, 0], { epoch: 1, step: 0, lr: 1 })).toThrow(
      'the loss is NaN; 2 value(s) of a parameter are inf or NaN; 1 value(s) of a gradient are inf or NaN',
    );
    expect(checkHealth([0.25, 0, 0, 0], { epoch: 1, step: 0, lr: 1 })).toBe(0.25);
  });
});

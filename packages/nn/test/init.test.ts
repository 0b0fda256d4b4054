// Initialisers: PyTorch's fan computation and gains, and the distributions they draw.

import { describe, expect, it } from 'vitest';
import { Generator, type Tensor } from '@aitm/tensor';
import { init } from '../src/node.js';

function stats(t: Tensor): { mean: number; std: number; min: number; max: number } {
  const v = [...t.dataSync()];
  const mean = v.reduce((a, x) => a + x, 0) / v.length;
  const std = Math.sqrt(v.reduce((a, x) => a + (x - mean) ** 2, 0) / v.length);
  t.dispose();
  return { mean, std, min: Math.min(...v), max: Math.max(...v) };
}

/** Within `rel` of the expected value (sample statistics of 60000 draws). */
function near(actual: number, expected: number, rel = 0.015): void {
  expect(Math.abs(actual - expected) / Math.abs(expected)).toBeLessThan(rel);
}

describe('init', () => {
  it('fans follow torch: [out, in, ...kernel]; Embedding [num, dim] has fan_in = dim', () => {
    expect(init.fans([5, 6])).toEqual({ fanIn: 6, fanOut: 5 });
    expect(init.fans([4, 3, 2, 2])).toEqual({ fanIn: 12, fanOut: 16 });
    expect(() => init.fans([5])).toThrow(/fewer than 2 dimensions/);
  });

  it('gains follow torch.nn.init.calculate_gain', () => {
    expect(init.calculateGain('linear')).toBe(1);
    expect(init.calculateGain('sigmoid')).toBe(1);
    expect(init.calculateGain('tanh')).toBe(5 / 3);
    expect(init.calculateGain('relu')).toBe(Math.SQRT2);
    expect(init.calculateGain('leaky_relu')).toBe(Math.sqrt(2 / (1 + 0.01 ** 2)));
    expect(init.calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 15);
    expect(init.calculateGain('selu')).toBe(0.75);
  });

  it('draw the documented distributions', () => {
    const g = new Generator(21);
    const shape = [300, 200];
    const o = { generator: g };
    const n = stats(init.normal(shape, 1, 0.5, o));
    near(n.mean, 1);
    near(n.std, 0.5);
    const u = stats(init.uniform(shape, -2, 3, o));
    expect(u.min).toBeGreaterThanOrEqual(-2);
    expect(u.max).toBeLessThan(3);
    near(u.mean, 0.5, 0.05);
    const xb = Math.sqrt(6 / 500);
    const xu = stats(init.xavierUniform(shape, 1, o));
    expect(xu.max).toBeLessThanOrEqual(xb);
    near(xu.std, xb / Math.sqrt(3));
    near(stats(init.xavierNormal(shape, 2, o)).std, 2 * Math.sqrt(2 / 500));
    // kaiming with a = sqrt(5) (nn.Linear): U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    const kb = 1 / Math.sqrt(200);
    const ku = stats(init.kaimingUniform(shape, { ...o, a: Math.sqrt(5) }));
    expect(ku.max).toBeLessThanOrEqual(kb + 1e-9);
    expect(ku.min).toBeGreaterThanOrEqual(-kb - 1e-9);
    expect(ku.max).toBeGreaterThan(0.99 * kb);
    near(stats(init.kaimingNormal(shape, { ...o, nonlinearity: 'relu' })).std, Math.SQRT2 / Math.sqrt(200));
    near(stats(init.kaimingNormal(shape, { ...o, nonlinearity: 'relu', mode: 'fan_out' })).std, Math.SQRT2 / Math.sqrt(300));
    expect(init.glorotUniform).toBe(init.xavierUniform);
    expect(init.heNormal).toBe(init.kaimingNormal);
  });

  it('the same generator seed gives the same values', () => {
    const a = init.kaimingUniform([3, 4], { generator: new Generator(5), dtype: 'float64' });
    const b = init.kaimingUniform([3, 4], { generator: new Generator(5), dtype: 'float64' });
    expect([...a.dataSync()]).toEqual([...b.dataSync()]);
    a.dispose();
    b.dispose();
  });
});

// The seeded generator: reproducible streams and the right distributions.

import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

describe('random', () => {
  it('the same seed gives the same tensors; another seed does not', () => {
    const a = T.randn([100], { generator: new T.Generator(7) }).dataSync();
    const b = T.randn([100], { generator: new T.Generator(7) }).dataSync();
    const c = T.randn([100], { generator: new T.Generator(8) }).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it('manualSeed resets the default generator', () => {
    T.manualSeed(42);
    const a = T.rand([5]).dataSync();
    T.manualSeed(42);
    expect(Array.from(T.rand([5]).dataSync())).toEqual(Array.from(a));
  });

  it('xoshiro128** matches the reference algorithm for a known state', () => {
    // Reference: the published xoshiro128** step, re-implemented here independently on a
    // state we set by hand (s = [1, 2, 3, 4]); first outputs of the C reference: 11520, 0, 5927040.
    const g = T.Generator.fromState(1, 2, 3, 4);
    expect(Array.from({ length: 6 }, () => g.nextU32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
    const q = T.Generator.fromState(0xdeadbeef, 0x12345678, 0xcafebabe, 0x0badf00d);
    for (let i = 0; i < 1000; i++) q.nextU32();
    expect(q.nextU32()).toBe(3651887776);
    expect(() => T.Generator.fromState(0, 0, 0, 0)).toThrow(/all-zero state/);
  });

  it('normal and uniform have the right moments', () => {
    const n = 200_000;
    const z = T.randn([n], { dtype: 'float64', generator: new T.Generator(1) }).dataSync();
    const u = T.rand([n], { dtype: 'float64', generator: new T.Generator(2), low: -1, high: 3 }).dataSync();
    const meanOf = (d: ArrayLike<number>) => Array.from(d).reduce((s, v) => s + v, 0) / d.length;
    const varOf = (d: ArrayLike<number>, m: number) => Array.from(d).reduce((s, v) => s + (v - m) ** 2, 0) / d.length;
    expect(Math.abs(meanOf(z))).toBeLessThan(0.01);
    expect(Math.abs(varOf(z, meanOf(z)) - 1)).toBeLessThan(0.02);
    expect(Math.abs(meanOf(u) - 1)).toBeLessThan(0.02);
    expect(Math.abs(varOf(u, meanOf(u)) - 16 / 12)).toBeLessThan(0.02);
    expect(u.reduce((a, v) => Math.min(a, v), Infinity)).toBeGreaterThanOrEqual(-1);
    expect(u.reduce((a, v) => Math.max(a, v), -Infinity)).toBeLessThan(3);
  });

  it('randint stays in [low, high) and hits every value', () => {
    const v = T.randint(3, 7, [1000], { generator: new T.Generator(3) }).dataSync();
    expect(new Set(v)).toEqual(new Set([3, 4, 5, 6]));
  });
});

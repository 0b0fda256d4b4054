// Deterministic memory: tidy frees intermediates, keeps what is returned; a training loop
// inside tidy leaves the live-tensor count and storage unchanged.

import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

describe('memory', () => {
  it('tidy disposes intermediates and keeps the result', () => {
    const x = T.ones([4]);
    const before = T.memory().tensors;
    const y = T.tidy(() => T.sum(T.exp(T.mul(x, 2))));
    expect(T.memory().tensors).toBe(before + 1);
    expect(y.isDisposed).toBe(false);
    y.dispose();
    expect(T.memory().tensors).toBe(before);
  });

  it('tidy keeps tensors returned inside arrays and objects, and nested scopes hand results up', () => {
    const before = T.memory().tensors;
    const out = T.tidy(() => {
      const inner = T.tidy(() => T.ones([2]).add(1));
      return { a: inner, list: [T.zeros([1])] };
    });
    expect(T.memory().tensors).toBe(before + 2);
    out.a.dispose();
    out.list[0]!.dispose();
    expect(T.memory().tensors).toBe(before);
  });

  it('views share storage: the storage is freed with its last view', () => {
    const before = T.memory();
    const x = T.ones([2, 3]);
    const v = T.reshape(x, [6]);
    expect(T.memory().buffers).toBe(before.buffers + 1);
    x.dispose();
    expect(Array.from(v.dataSync())).toEqual([1, 1, 1, 1, 1, 1]);
    v.dispose();
    expect(T.memory().buffers).toBe(before.buffers);
  });

  it('forward + backward + update in a loop leaks nothing', () => {
    const w = T.randn([8, 4], { requiresGrad: true });
    const b = T.zeros([4], { requiresGrad: true });
    const x = T.randn([16, 8]);
    const step = () =>
      T.tidy(() => {
        const loss = T.mean(T.pow(T.sigmoid(T.add(T.matmul(x, w), b)), 2));
        loss.backward();
        T.noGrad(() => {
          for (const p of [w, b]) {
            p.assign(T.sub(p, T.mul(p.grad!, 0.1)));
            p.grad!.dispose();
            p.grad = null;
          }
        });
      });
    step();
    const before = T.memory();
    for (let i = 0; i < 100; i++) step();
    const after = T.memory();
    expect(after.tensors).toBe(before.tensors);
    expect(after.buffers).toBe(before.buffers);
    expect(after.bytes).toBe(before.bytes);
  });
});

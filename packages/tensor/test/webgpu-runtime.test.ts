// Tests the WebGPU runtime layer (device, buffer pool, pipeline cache, batching, errors)
// on whatever adapter Dawn finds; on a machine without a GPU that is Mesa's llvmpipe.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GpuRuntime, WORKGROUP_ID_WGSL, sizeClass, type GpuBuffer } from '../src/backends/webgpu/runtime.js';
import { bindingsOf } from '../src/backends/webgpu/pipeline-cache.js';

let rt: GpuRuntime;

beforeAll(async () => {
  rt = await GpuRuntime.create();
});

afterAll(() => {
  rt?.destroy();
});

async function readF32(b: GpuBuffer): Promise<Float32Array> {
  return new Float32Array(await rt.read(b));
}

const AXPY = /* wgsl */ `
struct Params { n: u32, scale: f32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
${WORKGROUP_ID_WGSL}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup_id(wid, nwg) * 64u + lid;
  if (i >= p.n) { return; }
  out[i] = a[i] * p.scale + b[i];
}`;

function axpyParams(n: number, scale: number): ArrayBuffer {
  const params = new ArrayBuffer(8);
  new Uint32Array(params, 0, 1)[0] = n;
  new Float32Array(params, 4, 1)[0] = scale;
  return params;
}

const ADD_ONE = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < arrayLength(&x)) { x[gid.x] = x[gid.x] + 1.0; }
}`;

describe('GpuRuntime', () => {
  it('reports the adapter and the limits it requested', () => {
    expect(typeof rt.adapter.description).toBe('string');
    expect(Array.isArray(rt.adapter.features)).toBe(true);
    expect(rt.limits.maxComputeWorkgroupsPerDimension).toBeGreaterThanOrEqual(65535);
    expect(rt.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 << 20);
  });

  it('round-trips uploads, including zero and odd byte lengths and sub-ranges', async () => {
    const data = Float32Array.from({ length: 1000 }, (_, i) => i * 0.5 - 3);
    const b = rt.upload(data);
    expect(await readF32(b)).toEqual(data);

    const empty = rt.upload(new Uint8Array(0));
    expect(empty.byteLength).toBe(0);
    expect((await rt.read(empty)).byteLength).toBe(0);

    const odd = Uint8Array.from([1, 2, 3, 4, 5, 6, 7]);
    const ob = rt.upload(odd);
    expect(ob.byteLength).toBe(7);
    expect(new Uint8Array(await rt.read(ob))).toEqual(odd);
    expect(new Uint8Array(await rt.read(ob, 3, 2))).toEqual(Uint8Array.from([3, 4, 5]));
    await expect(rt.read(ob, 8)).rejects.toThrow(RangeError);

    for (const x of [b, empty, ob]) rt.release(x);
  });

  it('runs a kernel with uniforms and matches a JS computation', async () => {
    const n = 1000;
    const a = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: n }, (_, i) => i / 7);
    const [ga, gb, gout] = [rt.upload(a), rt.upload(b), rt.alloc(n * 4)];
    rt.dispatch({ label: 'axpy', code: AXPY, buffers: [ga, gb, gout], uniforms: axpyParams(n, 2.5), workgroups: Math.ceil(n / 64) });
    const out = await readF32(gout);
    const expected = Float32Array.from({ length: n }, (_, i) => Math.fround(a[i] * 2.5) + b[i]);
    for (let i = 0; i < n; i++) expect(out[i]).toBeCloseTo(expected[i], 5);
    for (const x of [ga, gb, gout]) rt.release(x);
  });

  it('profiles: GPU time per op label from timestamps, and per-op dispatch counters', async () => {
    const n = 1 << 16;
    const [ga, gb, gout] = [rt.upload(new Float32Array(n)), rt.upload(new Float32Array(n)), rt.alloc(n * 4)];
    const run = (label: string, times: number) => {
      for (let i = 0; i < times; i++) rt.dispatch({ label, code: AXPY, buffers: [ga, gb, gout], uniforms: axpyParams(n, 1), workgroups: n / 64 });
    };
    run('warm', 1); // llvmpipe compiles on first use
    await rt.checkErrors();
    rt.resetCounters();
    const rows = await rt.profile(() => {
      run('first', 3);
      run('second', 2);
    });
    expect(rows.map((r) => [r.op, r.dispatches]).sort()).toEqual([['first', 3], ['second', 2]]);
    for (const r of rows) expect(r.ms).toBeGreaterThan(0);
    expect(rt.stats().dispatchesByOp).toEqual({ first: 3, second: 2 });
    // Profiling is off again afterwards: nothing more is collected.
    run('after', 1);
    expect(await rt.profile(() => undefined)).toEqual([]);
    for (const x of [ga, gb, gout]) rt.release(x);
  });

  it('keeps the uniforms of every dispatch in a batch apart', async () => {
    const n = 64;
    const ones = rt.upload(new Float32Array(n).fill(1));
    const zeros = rt.upload(new Float32Array(n));
    const outs = [1, 2, 3].map((scale) => {
      const out = rt.alloc(n * 4);
      rt.dispatch({ label: 'axpy', code: AXPY, buffers: [ones, zeros, out], uniforms: axpyParams(n, scale), workgroups: 1 });
      return out;
    });
    for (const [k, out] of outs.entries()) expect(Array.from(await readF32(out))).toEqual(new Array(n).fill(k + 1));
    for (const x of [ones, zeros, ...outs]) rt.release(x);
  });

  it('splits a 1-D dispatch of more than 65535 workgroups', async () => {
    const n = 65535 * 64 + 17;
    const workgroups = Math.ceil(n / 64);
    expect(workgroups).toBeGreaterThan(rt.limits.maxComputeWorkgroupsPerDimension);
    const code = /* wgsl */ `
      @group(0) @binding(0) var<storage, read_write> out: array<u32>;
      @group(0) @binding(1) var<uniform> p: vec4<u32>;
      ${WORKGROUP_ID_WGSL}
      @compute @workgroup_size(64)
      fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
        let i = linear_workgroup_id(wid, nwg) * 64u + lid;
        if (i >= p.x) { return; }
        out[i] = i * 3u + 1u;
      }`;
    // One element past n holds a sentinel the bounds check must leave alone.
    const init = new Uint32Array(n + 1);
    init[n] = 0xdeadbeef;
    const out = rt.upload(init);
    rt.dispatch({ label: 'iota', code, buffers: [out], uniforms: Uint32Array.of(n, 0, 0, 0), workgroups });
    const got = new Uint32Array(await rt.read(out));
    let bad = -1;
    for (let i = 0; i < n && bad < 0; i++) if (got[i] !== i * 3 + 1) bad = i;
    expect(bad).toBe(-1);
    expect(got[n]).toBe(0xdeadbeef);
    rt.release(out);
  });

  it('batches many dispatches into one submit', async () => {
    const x = rt.upload(new Float32Array(256));
    rt.resetCounters();
    for (let k = 0; k < 100; k++) rt.dispatch({ label: 'add_one', code: ADD_ONE, buffers: [x], workgroups: 4 });
    expect(rt.stats().submits).toBe(0);
    expect(Array.from(await readF32(x))).toEqual(new Array(256).fill(100));
    const s = rt.stats();
    expect(s).toMatchObject({ dispatches: 100, submits: 1, syncs: 1 });
    expect(s.pipelines).toBeLessThanOrEqual(1);
    rt.release(x);
  });

  it('reuses a bind group for the same pipeline and buffers; the uniforms still differ per dispatch', async () => {
    const n = 64;
    const [ones, zeros] = [rt.upload(new Float32Array(n).fill(1)), rt.upload(new Float32Array(n))];
    const outs = [rt.alloc(n * 4), rt.alloc(n * 4)];
    // Same buffers twice, with different scales: the second dispatch reuses the bind group
    // (the first may too: earlier tests used these pooled buffers), and both results are right.
    rt.dispatch({ label: 'axpy', code: AXPY, buffers: [ones, zeros, outs[0]!], uniforms: axpyParams(n, 2), workgroups: 1 });
    const first = Array.from(await readF32(outs[0]!));
    const created = rt.stats().bindGroups;
    rt.dispatch({ label: 'axpy', code: AXPY, buffers: [ones, zeros, outs[0]!], uniforms: axpyParams(n, 3), workgroups: 1 });
    expect(first).toEqual(new Array(n).fill(2));
    expect(Array.from(await readF32(outs[0]!))).toEqual(new Array(n).fill(3));
    expect(rt.stats().bindGroups).toBe(created);
    rt.dispatch({ label: 'axpy', code: AXPY, buffers: [ones, zeros, outs[1]!], uniforms: axpyParams(n, 4), workgroups: 1 });
    expect(Array.from(await readF32(outs[1]!))).toEqual(new Array(n).fill(4));
    for (const x of [ones, zeros, ...outs]) rt.release(x);
  });

  it('reads a shader\'s bindings for its explicit layout, and gives up on what it cannot read', () => {
    expect([...bindingsOf(AXPY)!]).toEqual([[0, 'read-only-storage'], [1, 'read-only-storage'], [2, 'storage'], [3, 'uniform']]);
    expect(bindingsOf('@group(1) @binding(0) var<storage, read> a: array<f32>;')).toBeNull();
    expect(bindingsOf('@group(0) @binding(0) var t: texture_2d<f32>;')).toBeNull();
  });

  it('hands out the oldest free buffer of a size class, so repeated work reuses the same buffers', () => {
    const a = rt.alloc(100);
    const b = rt.alloc(100);
    const c = rt.alloc(100);
    rt.release(c);
    rt.release(a);
    rt.release(b);
    // Released c, a, b; handed out oldest first: a, b, c (by creation), whatever the release order.
    const again = [rt.alloc(100), rt.alloc(100), rt.alloc(100)];
    expect(again.map((x) => x.buffer)).toEqual([a.buffer, b.buffer, c.buffer]);
    for (const x of again) rt.release(x);
  });

  it('flushes a batch that reaches the size cap', async () => {
    const x = rt.upload(new Float32Array(64));
    rt.resetCounters();
    for (let k = 0; k < 600; k++) rt.dispatch({ label: 'add_one', code: ADD_ONE, buffers: [x], workgroups: 1 });
    expect(rt.stats().submits).toBe(2);
    expect(Array.from(await readF32(x))).toEqual(new Array(64).fill(600));
    expect(rt.stats().submits).toBe(3);
    rt.release(x);
  });

  it('reuses pooled buffers by size class', () => {
    expect(sizeClass(0)).toBe(4);
    expect(sizeClass(3000)).toBe(4096);
    expect(sizeClass((1 << 20) + 1)).toBe(1.25 * (1 << 20));
    const start = rt.stats();
    const a = rt.alloc(3000);
    expect(rt.stats().liveBuffers).toBe(start.liveBuffers + 1);
    const gpuBuffer = a.buffer;
    rt.release(a);
    const b = rt.alloc(2500); // same 4 KiB class
    expect(b.buffer).toBe(gpuBuffer);
    rt.release(b);
    const end = rt.stats();
    expect(end.liveBuffers).toBe(start.liveBuffers);
    expect(end.liveBytes).toBe(start.liveBytes);
    expect(() => rt.release(b)).toThrow(/not live/);
  });

  it('never lets upload() overwrite a buffer that unsubmitted commands still read', async () => {
    const n = 64;
    const src = rt.upload(new Float32Array(n).fill(5));
    const zeros = rt.upload(new Float32Array(n));
    const out = rt.alloc(n * 4);
    rt.dispatch({ label: 'axpy', code: AXPY, buffers: [src, zeros, out], uniforms: axpyParams(n, 1), workgroups: 1 });
    rt.release(src); // the dispatch above is not submitted yet
    const other = rt.upload(new Float32Array(n).fill(-1));
    expect(other.buffer).not.toBe(src.buffer);
    expect(Array.from(await readF32(out))).toEqual(new Array(n).fill(5));
    for (const x of [zeros, out, other]) rt.release(x);
  });

  it('copies between buffers in order with dispatches', async () => {
    const x = rt.upload(Float32Array.of(1, 2, 3, 4));
    const y = rt.alloc(16);
    rt.dispatch({ label: 'add_one', code: ADD_ONE, buffers: [x], workgroups: 1 });
    rt.copy(x, y, 8, 4, 0);
    rt.dispatch({ label: 'add_one', code: ADD_ONE, buffers: [x], workgroups: 1 });
    expect(Array.from((await readF32(y)).subarray(0, 2))).toEqual([3, 4]);
    expect(Array.from(await readF32(x))).toEqual([3, 4, 5, 6]);
    expect(() => rt.copy(x, y, 6)).toThrow(RangeError);
    rt.release(x);
    rt.release(y);
  });

  it('reports a WGSL syntax error with the op label and the compiler message', async () => {
    const x = rt.alloc(16);
    rt.dispatch({ label: 'broken_op', code: 'fn main( {', buffers: [x], workgroups: 1 });
    const err = await rt.checkErrors().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('broken_op');
    expect((err as Error).message).toMatch(/line 1/);
    await expect(rt.checkErrors()).resolves.toBeUndefined(); // reported once, runtime still usable
    rt.release(x);
  });

  it('reports a validation error (too few buffers bound) from read() with the op label', async () => {
    const code = /* wgsl */ `
      @group(0) @binding(0) var<storage, read_write> a: array<f32>;
      @group(0) @binding(1) var<storage, read_write> b: array<f32>;
      @compute @workgroup_size(1) fn main() { a[0] = b[0]; }`;
    const x = rt.upload(Float32Array.of(1));
    rt.dispatch({ label: 'too_few', code, buffers: [x], workgroups: 1 });
    await expect(rt.read(x)).rejects.toThrow(/too_few/);
    // The next batch is unaffected.
    rt.dispatch({ label: 'add_one', code: ADD_ONE, buffers: [x], workgroups: 1 });
    expect(Array.from(await readF32(x))).toEqual([2]);
    await expect(rt.checkErrors()).resolves.toBeUndefined();
    rt.release(x);
  });

  it('rejects oversized uniforms and buffers that were released', () => {
    const x = rt.alloc(4);
    expect(() =>
      rt.dispatch({ label: 'big_uniforms', code: ADD_ONE, buffers: [x], uniforms: new Uint8Array(512), workgroups: 1 }),
    ).toThrow(/big_uniforms/);
    rt.release(x);
    expect(() => rt.dispatch({ label: 'stale', code: ADD_ONE, buffers: [x], workgroups: 1 })).toThrow(/stale/);
  });

  it('throws "device lost" after destroy()', async () => {
    const other = await GpuRuntime.create();
    other.destroy();
    expect(() => other.alloc(4)).toThrow(/WebGPU device lost/);
    await expect(other.checkErrors()).rejects.toThrow(/WebGPU device lost/);
  });

  it('trims the pool', () => {
    const kept = rt.alloc(1 << 16); // live buffers are not the pool's to destroy
    rt.trimPool();
    expect(rt.stats()).toMatchObject({ pooledBuffers: 0, pooledBytes: 0 });
    rt.release(kept);
  });
});

// The WebGPU backend: storage is a pooled GPU buffer, kernels are hand-written WGSL run
// through the GpuRuntime (batched submission, cached pipelines). Readback is async only.

import type { DType, TypedArray } from '../../dtype.js';
import type { Backend, MemoryInfo, TensorMeta } from '../../backend.js';
import type { GpuBuffer, GpuRuntime } from './runtime.js';
import { WORKGROUP_ID_WGSL } from './runtime.js';
import { PARAMS_WGSL, type Params } from './params.js';

/** The WGSL storage type of a dtype (bool is stored as u32 0/1: WGSL has no byte arrays). */
export function wgslType(dtype: DType): 'f32' | 'i32' | 'u32' {
  if (dtype === 'float64') throw new Error('webgpu: float64 is not supported on the GPU; use float32 or the cpu backend');
  return dtype === 'int32' ? 'i32' : dtype === 'bool' ? 'u32' : 'f32';
}

/** The WGSL type of a numeric dtype, for kernels that do arithmetic (bool is refused, naming the op). */
export function numericType(op: string, dtype: DType): 'f32' | 'i32' {
  const t = wgslType(dtype);
  if (t === 'u32') throw new Error(`${op}: bool tensors are not supported; cast to float32 or int32 first`);
  return t;
}

/**
 * Memoises a WGSL generator by its arguments, so every call with the same arguments returns
 * the same string object. The pipeline cache is a Map keyed by the code: a fresh string of a
 * few kilobytes would be hashed in full on every dispatch (measured: a fifth of the host's
 * time per training step), a reused one hits the hash V8 keeps on the string.
 *
 * @example
 * const code = memoWgsl((relu: boolean) => `...${relu ? 'max(y, 0.0)' : 'y'}...`);
 */
export function memoWgsl<A extends readonly (string | number | boolean)[]>(build: (...args: A) => string): (...args: A) => string {
  const cache = new Map<string, string>();
  return (...args: A) => {
    const key = args.join('|');
    let code = cache.get(key);
    if (code === undefined) cache.set(key, (code = build(...args)));
    return code;
  };
}

/** Preamble every kernel starts with: the split-dispatch helper and the parameter block at `binding`. */
export function kernelPreamble(paramsBinding: number): string {
  return `${WORKGROUP_ID_WGSL}\n${PARAMS_WGSL}\n@group(0) @binding(${paramsBinding}) var<uniform> params: Params;\n`;
}

export interface WebGpuMemoryInfo extends MemoryInfo {
  pooledBuffers: number;
  pooledBytes: number;
}

/** Index tensors at most this long keep a host copy, so gather can validate ids without a readback. */
const SHADOW_LIMIT = 1 << 20;

/** The WebGPU backend: storage is a pooled GPU buffer, kernels are WGSL run through the `GpuRuntime`. */
export class WebGpuBackend implements Backend<'webgpu'> {
  readonly name = 'webgpu' as const;
  readonly supportsFloat64 = false;
  // Host copies of int32 uploads, with the write count of their root buffer when taken: a
  // kernel or copy that writes into the buffer (or any view of it) makes them stale.
  private readonly shadows = new WeakMap<GpuBuffer, { data: Int32Array; version: number }>();
  private readonly writesTo = new WeakMap<GpuBuffer, number>();

  constructor(readonly runtime: GpuRuntime) {}

  /** Uploads `data` into a GPU buffer. */
  fromHost(data: TypedArray, dtype: DType): GpuBuffer {
    wgslType(dtype);
    const buf = this.runtime.upload(dtype === 'bool' ? Uint32Array.from(data) : data);
    // A copy, not the caller's array: the fixed-order scatter-adds group by these ids, so a
    // caller refilling its array after the upload must not change them.
    if (dtype === 'int32' && data.length <= SHADOW_LIMIT) this.shadows.set(buf, { data: Int32Array.from(data as Int32Array), version: this.version(buf) });
    return buf;
  }

  /**
   * The host values of an int32 buffer uploaded from the host, if known and not written since
   * on the GPU (id validation, and the grouping of the fixed-order scatter-adds).
   */
  hostInts(buf: GpuBuffer): Int32Array | undefined {
    const s = this.shadows.get(buf);
    return s !== undefined && s.version === this.version(buf) ? s.data : undefined;
  }

  private version(buf: GpuBuffer): number {
    return this.writesTo.get(buf.root ?? buf) ?? 0;
  }

  /** Records a GPU write into `buf` (in place), which makes host copies of it stale. */
  private wrote(buf: GpuBuffer): void {
    const root = buf.root ?? buf;
    this.writesTo.set(root, (this.writesTo.get(root) ?? 0) + 1);
  }

  /** Reads the values back (waits for the GPU). */
  async toHost(handle: GpuBuffer, meta: TensorMeta): Promise<TypedArray> {
    const bytes = await this.runtime.read(handle, meta.size * 4);
    if (meta.dtype === 'bool') return Uint8Array.from(new Uint32Array(bytes));
    return meta.dtype === 'int32' ? new Int32Array(bytes) : new Float32Array(bytes);
  }

  toHostSync(_handle: GpuBuffer, _meta: TensorMeta): TypedArray {
    throw new Error('webgpu: synchronous readback is impossible on the GPU; use `await t.data()` (or move the tensor with `await t.to("cpu")`)');
  }

  adopt(handle: GpuBuffer): GpuBuffer {
    return handle;
  }

  view(handle: GpuBuffer, offset: number, size: number, dtype: DType): GpuBuffer {
    wgslType(dtype);
    const v = this.runtime.view(handle, offset * 4, size * 4);
    // A view of host-uploaded ids keeps the matching part of their host copy (id checks).
    const shadow = this.hostInts(handle);
    if (shadow) this.shadows.set(v, { data: shadow.subarray(offset, offset + size), version: this.version(handle) });
    return v;
  }

  copy(src: GpuBuffer, dst: GpuBuffer, size: number, _dtype: DType): void {
    this.wrote(dst);
    this.runtime.copy(src, dst, size * 4);
  }

  /** Returns the buffer to the pool. */
  free(handle: GpuBuffer): void {
    this.shadows.delete(handle);
    this.runtime.release(handle);
  }

  /** Live buffers and bytes, and the idle ones the pool keeps. */
  memory(): WebGpuMemoryInfo {
    const s = this.runtime.stats();
    return { buffers: s.liveBuffers, bytes: s.liveBytes, pooledBuffers: s.pooledBuffers, pooledBytes: s.pooledBytes };
  }

  /** A fresh output buffer for `meta` (contents undefined until a kernel writes it). */
  output(meta: TensorMeta): GpuBuffer {
    return this.runtime.alloc(meta.size * 4);
  }

  /**
   * Records one kernel launch. `buffers` bind at 0..n-1 and the params at n, matching
   * `kernelPreamble(n)` in the shader; `writes` lists the inputs the kernel updates in place
   * (fresh output buffers need no mention). Nothing is submitted here.
   */
  run(
    label: string,
    code: string,
    buffers: GpuBuffer[],
    params: Params,
    workgroups: number | [number, number, number],
    writes?: readonly number[],
  ): void {
    if (writes) for (const k of writes) this.wrote(buffers[k]!);
    this.runtime.dispatch({ label, code, buffers, uniforms: params.data, workgroups, ...(writes ? { writes } : {}) });
  }
}

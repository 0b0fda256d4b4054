// The WebGPU runtime: one device, pooled buffers, cached pipelines and batched command
// submission, with GPU errors turned into JavaScript Errors that name the failing op.
import { kernelErrorMessage } from './kernel-errors.js';
import { BufferPool, offsetOf, type GpuBuffer } from './buffer-pool.js';
import { openDevice, type AdapterReport, type RuntimeLimits } from './device.js';
import { CommandBatch, UNIFORM_SLOT_BYTES } from './encoder.js';
import { PipelineCache } from './pipeline-cache.js';

export type { AdapterReport, RuntimeLimits } from './device.js';
export type { GpuBuffer } from './buffer-pool.js';
export { sizeClass } from './buffer-pool.js';
export { MAX_BATCH_COMMANDS } from './encoder.js';
export { WORKGROUP_ID_WGSL } from './wgsl.js';

export interface DispatchSpec {
  /** The op name, used in error messages and as the label of GPU objects. */
  label: string;
  /** Full WGSL source. Pipelines are cached by (code, entryPoint). */
  code: string;
  /** Defaults to 'main'. */
  entryPoint?: string;
  /**
   * Bound at @group(0) @binding(0..n-1) in order, each as its requested byteLength
   * rounded up to 4 bytes, so arrayLength() counts only real elements. The pipeline
   * layout is derived from the shader ('auto'): every binding must be used by the shader.
   */
  buffers: GpuBuffer[];
  /** If given, bound at @binding(n) as var<uniform>; at most 256 bytes. */
  uniforms?: ArrayBuffer | ArrayBufferView;
  /**
   * A number is a 1-D count that may be split into 2-D: see WORKGROUP_ID_WGSL.
   * Zero workgroups records nothing (so a broken shader goes unnoticed until it really runs).
   */
  workgroups: number | [number, number, number];
  /**
   * Indices of `buffers` the kernel writes that may be views (in-place updates). Such a
   * view must sit at a bindable offset: it cannot be bound through a temporary copy.
   */
  writes?: readonly number[];
}

/** GPU time spent in one op's dispatches during `GpuRuntime.profile`. */
export interface OpProfile {
  op: string;
  dispatches: number;
  ms: number;
}

/** The WebGPU runtime's counters (`gpuCounters()`): dispatches, copies, submits, syncs, pipelines, buffers. */
export interface RuntimeStats {
  /** Event counters since create() or resetCounters(). */
  dispatches: number;
  /** Dispatches per op label (the op name, e.g. "bmm", "adamStep"), for finding what to fuse. */
  dispatchesByOp: Record<string, number>;
  /** Buffer-to-buffer copies recorded (cheap commands, not dispatches). */
  copies: number;
  /** Bind groups created (the rest of the dispatches reused a cached one). */
  bindGroups: number;
  submits: number;
  /** Waits for the GPU: one per read(). */
  syncs: number;
  pipelines: number;
  /** Buffers handed out by alloc()/upload() and not yet released, and their GPU sizes. */
  liveBuffers: number;
  liveBytes: number;
  /** Idle buffers kept for reuse (storage and read staging). */
  pooledBuffers: number;
  pooledBytes: number;
}

/** The kernel-error buffer: [count, code, index, rows] as u32. */
const KERNEL_ERROR_BYTES = 16;

export class GpuRuntime {
  readonly device: GPUDevice;
  readonly adapter: AdapterReport;
  readonly limits: Readonly<RuntimeLimits>;
  private readonly pool: BufferPool;
  private readonly pipelines: PipelineCache;
  private readonly batch: CommandBatch;
  private counters = { dispatches: 0, submits: 0, syncs: 0, copies: 0, bindGroups: 0, pipelinesAtReset: 0 };
  // Bind groups by pipeline and bound ranges. Pooled buffers come back in the same roles
  // step after step, so a training loop reuses the same few dozen; creating one cost about a
  // third of the host's time per dispatch. Cleared when buffers are destroyed.
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  /** Where kernels record the first index out of range they meet (see kernel-errors.ts); read with every read(). */
  readonly kernelErrors: GpuBuffer;
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 0;
  private byOp = new Map<string, number>();

  // Errors: WebGPU reports them through events and promises, detached from the call that
  // caused them. Each is tagged with the sequence number of the dispatch being recorded,
  // and the earliest one is reported, since later errors are usually its consequences.
  private seq = 0;
  private currentLabel: string | undefined;
  private firstError: { seq: number; error: Error } | undefined;
  private lostReason: string | undefined;
  private destroyed = false;

  static async create(opts: { powerPreference?: GPUPowerPreference } = {}): Promise<GpuRuntime> {
    const { device, adapter, limits } = await openDevice(opts.powerPreference);
    return new GpuRuntime(device, adapter, limits);
  }

  private constructor(device: GPUDevice, adapter: AdapterReport, limits: RuntimeLimits) {
    this.device = device;
    this.adapter = adapter;
    this.limits = limits;
    this.pool = new BufferPool(device, limits.maxBufferSize);
    // A broken pipeline is the root cause of anything its own dispatch triggers, hence seq - 0.5.
    this.pipelines = new PipelineCache(device, (seq, error) => this.recordError(seq - 0.5, error));
    this.batch = new CommandBatch(device, limits.minUniformBufferOffsetAlignment);
    // Outside the pool (not a tensor's memory); new buffers start zeroed.
    const errors = device.createBuffer({ label: 'kernel errors', size: KERNEL_ERROR_BYTES, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    this.kernelErrors = { buffer: errors, byteLength: KERNEL_ERROR_BYTES };

    // Dawn raises these synchronously inside the failing call, so currentLabel names the op.
    device.addEventListener('uncapturederror', (event) => {
      event.preventDefault(); // reported through read()/checkErrors(); stops Dawn printing it too
      const where = this.currentLabel === undefined ? 'while submitting commands' : `in op "${this.currentLabel}"`;
      const kind = event.error.constructor.name.replace(/^GPU/, '').replace(/Error$/, '').toLowerCase();
      this.recordError(this.seq, new Error(`WebGPU ${kind} error ${where}: ${event.error.message}`));
    });
    void device.lost.then((info) => {
      this.lostReason ??= info.message || info.reason;
    });
  }

  /** A buffer of at least byteLength bytes (zero allowed) with undefined contents. */
  alloc(byteLength: number): GpuBuffer {
    this.assertUsable();
    return this.labelled('alloc', () => this.pool.alloc(byteLength));
  }

  /** Returns b to the pool; commands already recorded that use it still see their data. */
  release(b: GpuBuffer): void {
    if (b.root !== undefined) throw new Error('WebGPU: release() of a view; release the buffer it views instead');
    this.pool.release(b);
  }

  /**
   * A handle on bytes [byteOffset, byteOffset + byteLength) of `b`, sharing its memory (no
   * copy). It lives as long as `b` and is never released itself. Kernels bind it at its
   * offset; one not aligned to the adapter's minStorageBufferOffsetAlignment is bound
   * through a temporary copy, so kernels only ever read through such views.
   */
  view(b: GpuBuffer, byteOffset: number, byteLength: number): GpuBuffer {
    this.assertLive(b, 'view');
    if (byteOffset % 4 !== 0 || byteOffset < 0 || byteLength < 0 || byteOffset + byteLength > paddedLength(b.byteLength)) {
      throw new RangeError(`WebGPU view: bytes ${byteOffset}..${byteOffset + byteLength} are not a 4-byte aligned range of a ${b.byteLength}-byte buffer`);
    }
    return { buffer: b.buffer, byteLength, byteOffset: offsetOf(b) + byteOffset, root: b.root ?? b };
  }

  upload(data: ArrayBufferView): GpuBuffer {
    this.assertUsable();
    const bytes = bytesOf(data);
    const b = this.labelled('upload', () => this.pool.allocForWrite(bytes.byteLength));
    if (bytes.byteLength > 0) {
      // writeBuffer needs a multiple of 4 bytes.
      const padded = bytes.byteLength % 4 === 0 ? bytes : padTo4(bytes);
      this.labelled('upload', () => this.device.queue.writeBuffer(b.buffer, 0, padded));
    }
    return b;
  }

  /** Records a compute dispatch. Nothing runs until a flush (read(), or a full batch). */
  dispatch(spec: DispatchSpec): void {
    this.assertUsable();
    const { label } = spec;
    const grid = this.grid(spec);
    if (grid[0] * grid[1] * grid[2] === 0) return;
    for (const b of spec.buffers) if (b !== this.kernelErrors) this.assertLive(b, label);
    const uniforms = spec.uniforms === undefined ? undefined : bytesOf(spec.uniforms);
    if (uniforms && uniforms.byteLength > UNIFORM_SLOT_BYTES) {
      throw new RangeError(`WebGPU op "${label}": uniforms are ${uniforms.byteLength} bytes, at most ${UNIFORM_SLOT_BYTES}`);
    }

    // Views at offsets the adapter cannot bind are read through a copy.
    const temps: GpuBuffer[] = [];
    const bound = spec.buffers.map((b, k) => {
      if (offsetOf(b) % this.limits.minStorageBufferOffsetAlignment === 0) return b;
      if (spec.writes?.includes(k)) {
        throw new Error(`WebGPU op "${label}": binding ${k} is written in place but is a view at byte offset ${offsetOf(b)}, which this adapter cannot bind (alignment ${this.limits.minStorageBufferOffsetAlignment})`);
      }
      const t = this.alloc(b.byteLength);
      this.copy(b, t, paddedLength(b.byteLength));
      temps.push(t);
      return t;
    });
    const seq = ++this.seq;
    this.labelled(label, () => {
      const cached = this.pipelines.get(label, spec.code, spec.entryPoint ?? 'main', seq);
      const { pipeline, layout } = cached;
      const entries = (): GPUBindGroupEntry[] =>
        bound.map((b, binding) => ({ binding, resource: { buffer: b.buffer, offset: offsetOf(b), size: paddedLength(b.byteLength) } }));
      if (cached.dynamicUniform) {
        // The uniform slot is a dynamic offset, so the bind group only depends on the buffers.
        const key = `${cached.id}|${uniforms ? 'u' : ''}|${bound.map((b) => `${this.bufferId(b.buffer)}@${offsetOf(b)}+${paddedLength(b.byteLength)}`).join(',')}`;
        let bindGroup = this.bindGroups.get(key);
        if (bindGroup === undefined) {
          const all = entries();
          if (uniforms) all.push({ binding: all.length, resource: this.batch.dynamicUniformBinding });
          bindGroup = this.device.createBindGroup({ label, layout, entries: all });
          if (this.bindGroups.size >= 4096) this.bindGroups.clear();
          this.bindGroups.set(key, bindGroup);
          this.counters.bindGroups++;
        }
        this.batch.dispatch(label, pipeline, bindGroup, grid, uniforms ? [this.batch.uniformSlot(uniforms)] : []);
      } else {
        const all = entries();
        if (uniforms) all.push({ binding: all.length, resource: this.batch.uniformBinding(uniforms) });
        this.counters.bindGroups++;
        this.batch.dispatch(label, pipeline, this.device.createBindGroup({ label, layout, entries: all }), grid);
      }
    });
    for (const t of temps) this.release(t);
    this.counters.dispatches++;
    this.byOp.set(label, (this.byOp.get(label) ?? 0) + 1);
    if (this.batch.isFull) this.flush();
  }

  /** Records a buffer copy, in order with dispatches. Sizes and offsets must be multiples of 4. */
  copy(src: GpuBuffer, dst: GpuBuffer, bytes: number, srcOffset = 0, dstOffset = 0): void {
    this.assertUsable();
    this.assertLive(src, 'copy');
    this.assertLive(dst, 'copy');
    if (bytes % 4 !== 0 || srcOffset % 4 !== 0 || dstOffset % 4 !== 0) {
      throw new RangeError('WebGPU copy: byte count and offsets must be multiples of 4');
    }
    if (srcOffset + bytes > paddedLength(src.byteLength) || dstOffset + bytes > paddedLength(dst.byteLength)) {
      throw new RangeError('WebGPU copy: range outside the buffers');
    }
    if (bytes === 0) return;
    this.labelled('copy', () => this.batch.copy(src.buffer, offsetOf(src) + srcOffset, dst.buffer, offsetOf(dst) + dstOffset, bytes));
    this.counters.copies++;
    if (this.batch.isFull) this.flush();
  }

  /** Submits what is recorded. */
  flush(): void {
    this.assertUsable();
    if (this.batch.submit()) this.counters.submits++;
    this.pool.submitted();
  }

  /** Submits pending work and copies the buffer back: one wait for the GPU. */
  async read(b: GpuBuffer, byteLength?: number, byteOffset = 0): Promise<ArrayBuffer> {
    this.assertUsable();
    this.assertLive(b, 'read');
    const length = byteLength ?? b.byteLength - byteOffset;
    if (byteOffset < 0 || length < 0 || byteOffset + length > b.byteLength) {
      throw new RangeError(`WebGPU read: bytes ${byteOffset}..${byteOffset + length} outside a ${b.byteLength}-byte buffer`);
    }
    if (length === 0) {
      this.flush();
      await this.throwRecordedError();
      return new ArrayBuffer(0);
    }
    // Copies need 4-byte alignment: copy the enclosing aligned range, then slice.
    const start = Math.floor(byteOffset / 4) * 4;
    const size = paddedLength(byteOffset + length) - start;
    // The kernel-error words ride along after the data: one map checks both.
    const errAt = Math.ceil(size / 8) * 8; // getMappedRange offsets are multiples of 8
    const staging = this.pool.takeStaging(errAt + KERNEL_ERROR_BYTES);
    this.labelled('read', () => this.batch.copy(b.buffer, offsetOf(b) + start, staging, 0, size));
    this.labelled('read', () => this.batch.copy(this.kernelErrors.buffer, 0, staging, errAt, KERNEL_ERROR_BYTES));
    this.flush();
    this.counters.syncs++;
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, errAt + KERNEL_ERROR_BYTES);
    } catch (e) {
      this.assertUsable();
      await this.throwRecordedError();
      throw e;
    }
    const out = staging.getMappedRange(0, size).slice(byteOffset - start, byteOffset - start + length);
    const kernelError = kernelErrorMessage(new Uint32Array(staging.getMappedRange(errAt, KERNEL_ERROR_BYTES).slice(0)));
    staging.unmap();
    this.pool.returnStaging(staging);

    // The data is only trustworthy if nothing failed on the way.
    await this.throwRecordedError();
    // A device error comes first: then the copies did not run and these words are stale.
    if (kernelError !== null) {
      this.device.queue.writeBuffer(this.kernelErrors.buffer, 0, new Uint32Array(KERNEL_ERROR_BYTES / 4));
      throw new Error(kernelError);
    }
    return out;
  }

  /** Submits pending work and rejects with the first GPU error since the last report, if any. */
  async checkErrors(): Promise<void> {
    this.flush();
    // An empty error scope resolves once the device has processed every earlier call, so
    // their errors have been delivered. It does not wait for the GPU to execute anything.
    this.device.pushErrorScope('validation');
    await this.device.popErrorScope();
    await this.throwRecordedError();
  }

  stats(): RuntimeStats {
    const c = this.counters;
    return {
      dispatches: c.dispatches,
      dispatchesByOp: Object.fromEntries(this.byOp),
      copies: c.copies,
      bindGroups: c.bindGroups,
      submits: c.submits,
      syncs: c.syncs,
      pipelines: this.pipelines.created - c.pipelinesAtReset,
      liveBuffers: this.pool.liveCount,
      liveBytes: this.pool.liveBytes,
      pooledBuffers: this.pool.pooledCount,
      pooledBytes: this.pool.pooledBytes,
    };
  }

  resetCounters(): void {
    this.counters = { dispatches: 0, submits: 0, syncs: 0, copies: 0, bindGroups: 0, pipelinesAtReset: this.pipelines.created };
    this.byOp.clear();
  }

  /**
   * Runs `fn` with a GPU timestamp around every dispatch and returns the GPU time per op
   * label (milliseconds and dispatch counts), slowest first. Needs 'timestamp-query'.
   */
  async profile(fn: () => void | Promise<void>): Promise<OpProfile[]> {
    if (!this.adapter.features.includes('timestamp-query')) {
      throw new Error("WebGPU profile: this adapter lacks the 'timestamp-query' feature");
    }
    this.flush();
    this.batch.startProfiling();
    let rows: Awaited<ReturnType<typeof this.batch.stopProfiling>>;
    try {
      await fn();
    } finally {
      // Also when fn throws: what it recorded runs, and later dispatches are not timed.
      this.flush();
      rows = await this.batch.stopProfiling();
    }
    await this.throwRecordedError();
    const byLabel = new Map<string, OpProfile>();
    for (const { label, ns } of rows) {
      const p = byLabel.get(label) ?? { op: label, dispatches: 0, ms: 0 };
      p.dispatches++;
      p.ms += ns / 1e6;
      byLabel.set(label, p);
    }
    return [...byLabel.values()].sort((a, b) => b.ms - a.ms);
  }

  /** Frees the GPU memory of idle pooled buffers. */
  trimPool(): void {
    if (this.lostReason === undefined) this.flush();
    this.pool.trim();
    this.bindGroups.clear(); // they may name destroyed buffers
  }

  /** Destroys the device (unsubmitted commands are dropped) so Node can exit. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.lostReason ??= 'the runtime was destroyed';
    this.pool.trim();
    this.bindGroups.clear();
    this.batch.destroy();
    this.device.destroy();
  }

  /**
   * Calls `listener(compiled, op)` after each pipeline compiled from now on (`compiled` counts
   * every pipeline of this device). Returns a function that removes it.
   */
  watchPipelines(listener: (compiled: number, op: string) => void): () => void {
    this.pipelines.onCreated.add(listener);
    return () => this.pipelines.onCreated.delete(listener);
  }

  private bufferId(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) this.bufferIds.set(b, (id = this.nextBufferId++));
    return id;
  }

  private recordError(seq: number, error: Error): void {
    if (!this.firstError || seq < this.firstError.seq) this.firstError = { seq, error };
  }

  private async throwRecordedError(): Promise<void> {
    await this.pipelines.settled();
    const error = this.firstError?.error;
    this.firstError = undefined; // reported once, so the runtime stays usable afterwards
    if (error) throw error;
    this.assertUsable();
  }

  private assertUsable(): void {
    if (this.lostReason !== undefined) throw new Error(`WebGPU device lost: ${this.lostReason}`);
  }

  private assertLive(b: GpuBuffer, label: string): void {
    if (!this.pool.isLive(b)) throw new Error(`WebGPU op "${label}": uses a buffer that was released`);
  }

  /** Runs fn with `label` as the op that GPU errors raised meanwhile are attributed to. */
  private labelled<T>(label: string, fn: () => T): T {
    this.currentLabel = label;
    try {
      return fn();
    } finally {
      this.currentLabel = undefined;
    }
  }

  private grid(spec: DispatchSpec): [number, number, number] {
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    const w = spec.workgroups;
    const grid: [number, number, number] = typeof w === 'number' ? [Math.min(w, max), Math.ceil(w / max), 1] : [...w];
    if (grid.some((n) => !Number.isInteger(n) || n < 0 || n > max)) {
      throw new RangeError(`WebGPU op "${spec.label}": cannot dispatch ${JSON.stringify(w)} workgroups (at most ${max} per dimension)`);
    }
    return grid;
  }
}

function paddedLength(byteLength: number): number {
  return Math.max(4, Math.ceil(byteLength / 4) * 4);
}

// @webgpu/types wants ArrayBuffer-backed views; Dawn also copies from a SharedArrayBuffer.
function bytesOf(data: ArrayBuffer | ArrayBufferView): Uint8Array<ArrayBuffer> {
  const view = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
  return view as Uint8Array<ArrayBuffer>;
}

function padTo4(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const padded = new Uint8Array(paddedLength(bytes.byteLength));
  padded.set(bytes);
  return padded;
}

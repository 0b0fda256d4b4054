// Records many commands into one command encoder and submits them together: a submit
// costs far more than a dispatch, so the runtime submits only when it must.

/** Commands per submit before the batch is flushed anyway (bounds memory held by one batch). */
export const MAX_BATCH_COMMANDS = 256;

/** Each dispatch's uniforms get their own slot; 256 is the usual minUniformBufferOffsetAlignment. */
export const UNIFORM_SLOT_BYTES = 256;

/**
 * Uniform parameters of all dispatches in the batch live in one GPU buffer, at 256-byte
 * aligned slots. They are gathered on the CPU and written with a single queue.writeBuffer
 * just before the submit. Reusing the same buffer for the next batch is safe: the queue
 * runs that later write after the earlier submit has finished with the buffer.
 */
/** GPU time of each dispatch in a profiled submission: labels and their [begin, end] timestamps. */
interface ProfiledBatch {
  readonly labels: string[];
  readonly readback: GPUBuffer;
}

export class CommandBatch {
  private encoder: GPUCommandEncoder | null = null;
  private commands = 0;
  private uniformSlots = 0;
  // Profiling (timestamp queries around every dispatch), when on.
  private querySet: GPUQuerySet | null = null;
  private resolveBuffer: GPUBuffer | null = null;
  private labels: string[] = [];
  private readonly profiled: ProfiledBatch[] = [];
  private readonly slotBytes: number;
  private readonly staging: Uint8Array<ArrayBuffer>;
  private readonly uniformBuffer: GPUBuffer;

  constructor(
    private readonly device: GPUDevice,
    minUniformBufferOffsetAlignment: number,
  ) {
    this.slotBytes = Math.max(UNIFORM_SLOT_BYTES, minUniformBufferOffsetAlignment);
    this.staging = new Uint8Array(this.slotBytes * MAX_BATCH_COMMANDS);
    this.uniformBuffer = device.createBuffer({
      label: 'uniforms',
      size: this.staging.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
  }

  get isEmpty(): boolean {
    return this.commands === 0;
  }

  get isFull(): boolean {
    return this.commands >= MAX_BATCH_COMMANDS;
  }

  /** Copies `bytes` into the next slot; returns the binding for a bind group entry. */
  uniformBinding(bytes: Uint8Array): GPUBufferBinding {
    return { buffer: this.uniformBuffer, offset: this.uniformSlot(bytes), size: UNIFORM_SLOT_BYTES };
  }

  /** Copies `bytes` into the next slot; returns its offset (a dynamic offset for `dynamicUniformBinding`). */
  uniformSlot(bytes: Uint8Array): number {
    const offset = this.uniformSlots++ * this.slotBytes;
    this.staging.set(bytes, offset);
    return offset;
  }

  /** The uniform buffer as a binding whose slot is chosen per dispatch by a dynamic offset. */
  get dynamicUniformBinding(): GPUBufferBinding {
    return { buffer: this.uniformBuffer, offset: 0, size: UNIFORM_SLOT_BYTES };
  }

  dispatch(label: string, pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, grid: [number, number, number], dynamicOffsets: number[] = []): void {
    // One pass per dispatch costs next to nothing and lets validation messages name the op
    // (and, when profiling, carries the dispatch's two timestamps).
    const q = this.labels.length;
    const timestampWrites = this.querySet ? { querySet: this.querySet, beginningOfPassWriteIndex: 2 * q, endOfPassWriteIndex: 2 * q + 1 } : undefined;
    if (this.querySet) this.labels.push(label);
    const pass = this.current().beginComputePass(timestampWrites ? { label, timestampWrites } : { label });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup, dynamicOffsets);
    pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    pass.end();
    this.commands++;
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.current().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.commands++;
  }

  /** Writes the uniforms and submits; returns false when there was nothing to submit. */
  submit(): boolean {
    if (!this.encoder) return false;
    const encoder = this.encoder;
    this.encoder = null;
    if (this.uniformSlots > 0) {
      this.device.queue.writeBuffer(this.uniformBuffer, 0, this.staging, 0, this.uniformSlots * this.slotBytes);
    }
    if (this.querySet && this.labels.length > 0) {
      const bytes = this.labels.length * 16;
      encoder.resolveQuerySet(this.querySet, 0, 2 * this.labels.length, this.resolveBuffer!, 0);
      const readback = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      encoder.copyBufferToBuffer(this.resolveBuffer!, 0, readback, 0, bytes);
      this.profiled.push({ labels: this.labels, readback });
      this.labels = [];
    }
    this.commands = 0;
    this.uniformSlots = 0;
    this.device.queue.submit([encoder.finish()]);
    return true;
  }

  /**
   * Starts recording a timestamp before and after every dispatch (needs the adapter's
   * 'timestamp-query' feature). Call at a batch boundary (after a submit).
   */
  startProfiling(): void {
    if (this.querySet) return;
    this.querySet = this.device.createQuerySet({ type: 'timestamp', count: 2 * MAX_BATCH_COMMANDS });
    this.resolveBuffer = this.device.createBuffer({ size: 16 * MAX_BATCH_COMMANDS, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  }

  /** Stops profiling and returns each profiled dispatch's label and GPU nanoseconds (after the GPU ran them). */
  async stopProfiling(): Promise<{ label: string; ns: number }[]> {
    const out: { label: string; ns: number }[] = [];
    for (const { labels, readback } of this.profiled.splice(0)) {
      await readback.mapAsync(GPUMapMode.READ);
      const t = new BigInt64Array(readback.getMappedRange());
      labels.forEach((label, i) => out.push({ label, ns: Number(t[2 * i + 1]! - t[2 * i]!) }));
      readback.unmap();
      readback.destroy();
    }
    this.querySet?.destroy();
    this.resolveBuffer?.destroy();
    this.querySet = null;
    this.resolveBuffer = null;
    return out;
  }

  destroy(): void {
    this.uniformBuffer.destroy();
    this.querySet?.destroy();
    this.resolveBuffer?.destroy();
  }

  private current(): GPUCommandEncoder {
    return (this.encoder ??= this.device.createCommandEncoder());
  }
}

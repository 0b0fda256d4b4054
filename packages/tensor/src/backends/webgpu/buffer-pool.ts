// Recycles GPU buffers by size class: creating a buffer costs far more than a kernel
// launch, and a tensor program allocates the same few shapes over and over.

/** A GPU buffer as the runtime hands it out: the buffer and the bytes asked for (a view adds its offset and root). */
export interface GpuBuffer {
  readonly buffer: GPUBuffer;
  /** The size the caller asked for; buffer.size is the (larger) size class. */
  readonly byteLength: number;
  /** For a view (a sub-range of another handle's buffer): where it starts in `buffer`. */
  readonly byteOffset?: number;
  /** For a view: the pooled handle that owns the buffer (views are never pooled themselves). */
  readonly root?: GpuBuffer;
}

/** Where `b`'s bytes start in its GPUBuffer (0 except for views). */
export function offsetOf(b: GpuBuffer): number {
  return b.byteOffset ?? 0;
}

const MiB = 1 << 20;

/**
 * Powers of two up to 1 MiB, then steps of 1.25x (in 64 KiB units), so a pooled buffer
 * wastes at most half its size when small and a quarter when large.
 */
export function sizeClass(byteLength: number): number {
  const need = Math.max(4, Math.ceil(byteLength / 4) * 4);
  if (need <= MiB) return 2 ** Math.ceil(Math.log2(need));
  let size = MiB;
  while (size < need) size = Math.ceil((size * 1.25) / 65536) * 65536;
  return size;
}

/** Creation order of every pooled buffer: free lists hand out the oldest first. */
const serials = new WeakMap<GPUBuffer, number>();
let nextSerial = 0;
const serialOf = (b: GPUBuffer): number => serials.get(b) ?? -1;

/**
 * Free lists keyed by buffer size, each kept sorted so that `take` returns the free buffer
 * created first. Handing buffers out in a fixed order (rather than last-released first)
 * makes a loop that repeats the same work get the same buffers in the same roles every
 * iteration, so the runtime's cached bind groups match again.
 */
class FreeLists {
  private readonly lists = new Map<number, GPUBuffer[]>();
  count = 0;
  bytes = 0;

  /** The serial of the buffer `take(size)` would return (Infinity if none). */
  peek(size: number): number {
    const list = this.lists.get(size);
    return list && list.length > 0 ? serialOf(list[list.length - 1]!) : Infinity;
  }

  take(size: number): GPUBuffer | undefined {
    const b = this.lists.get(size)?.pop();
    if (b) {
      this.count--;
      this.bytes -= size;
    }
    return b;
  }

  put(b: GPUBuffer): void {
    let list = this.lists.get(b.size);
    if (!list) this.lists.set(b.size, (list = []));
    // Descending by serial, so pop() gives the oldest. Lists are short (a few dozen).
    const s = serialOf(b);
    let i = list.length;
    while (i > 0 && serialOf(list[i - 1]!) < s) i--;
    list.splice(i, 0, b);
    this.count++;
    this.bytes += b.size;
  }

  /** Moves everything into `other`. */
  drainInto(other: FreeLists): void {
    for (const list of this.lists.values()) for (const b of list) other.put(b);
    this.clear();
  }

  destroyAll(): void {
    for (const list of this.lists.values()) for (const b of list) b.destroy();
    this.clear();
  }

  private clear(): void {
    this.lists.clear();
    this.count = 0;
    this.bytes = 0;
  }
}

/**
 * Storage buffers (STORAGE | COPY_SRC | COPY_DST) plus MAP_READ staging buffers for reads.
 *
 * A released buffer may be handed to commands recorded later: the queue runs them in
 * order. But queue.writeBuffer (used by upload) runs *before* the commands still being
 * recorded, so a buffer released since the last submit could be overwritten before the
 * pending commands read it. Such buffers wait in `recent` until the next submit, and only
 * alloc() (not allocForWrite()) may take them.
 */
export class BufferPool {
  private readonly ready = new FreeLists();
  private readonly recent = new FreeLists();
  private readonly staging = new FreeLists();
  private readonly live = new Set<GpuBuffer>();
  liveBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBufferSize: number,
  ) {}

  /** A buffer for commands that will be recorded after this call. */
  alloc(byteLength: number): GpuBuffer {
    const size = this.classFor(byteLength);
    const from = this.recent.peek(size) < this.ready.peek(size) ? this.recent : this.ready;
    return this.handOut(from.take(size) ?? this.create(size), byteLength);
  }

  /** A buffer safe to fill with queue.writeBuffer right now. */
  allocForWrite(byteLength: number): GpuBuffer {
    const size = this.classFor(byteLength);
    return this.handOut(this.ready.take(size) ?? this.create(size), byteLength);
  }

  release(b: GpuBuffer): void {
    if (!this.live.delete(b)) throw new Error('WebGPU: release() of a buffer that is not live (released twice?)');
    this.liveBytes -= b.buffer.size;
    this.recent.put(b.buffer);
  }

  isLive(b: GpuBuffer): boolean {
    return this.live.has(b.root ?? b);
  }

  /** Called after each submit: buffers released before it are now safe for writeBuffer too. */
  submitted(): void {
    this.recent.drainInto(this.ready);
  }

  takeStaging(byteLength: number): GPUBuffer {
    const size = this.classFor(byteLength);
    return (
      this.staging.take(size) ??
      this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST })
    );
  }

  returnStaging(b: GPUBuffer): void {
    this.staging.put(b);
  }

  /** Destroys idle buffers; `recent` ones are skipped as commands not yet submitted may use them. */
  trim(): void {
    this.ready.destroyAll();
    this.staging.destroyAll();
  }

  get liveCount(): number {
    return this.live.size;
  }

  get pooledCount(): number {
    return this.ready.count + this.recent.count + this.staging.count;
  }

  get pooledBytes(): number {
    return this.ready.bytes + this.recent.bytes + this.staging.bytes;
  }

  private classFor(byteLength: number): number {
    if (!Number.isInteger(byteLength) || byteLength < 0) {
      throw new RangeError(`WebGPU: invalid buffer size ${byteLength}`);
    }
    if (byteLength > this.maxBufferSize) {
      throw new RangeError(`WebGPU: buffer of ${byteLength} bytes exceeds maxBufferSize ${this.maxBufferSize}`);
    }
    const size = sizeClass(byteLength);
    return size <= this.maxBufferSize ? size : Math.ceil(byteLength / 4) * 4;
  }

  private create(size: number): GPUBuffer {
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const b = this.device.createBuffer({ size, usage });
    serials.set(b, nextSerial++);
    return b;
  }

  private handOut(buffer: GPUBuffer, byteLength: number): GpuBuffer {
    const handle: GpuBuffer = { buffer, byteLength };
    this.live.add(handle);
    this.liveBytes += buffer.size;
    return handle;
  }
}

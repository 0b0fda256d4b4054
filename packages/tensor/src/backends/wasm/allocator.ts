// Where the wasm backend's tensors live: blocks of one WebAssembly.Memory, handed out by size
// class (powers of two from 64 bytes, 16-byte aligned for v128 loads) and recycled through a
// free list per class. Freed deterministically by the engine's reference counts, like the
// GPU's buffer pool; the garbage collector never sees a block.

import type { LinearMemory } from './module.js';

const MIN_CLASS = 6; // 64 bytes
const PAGE = 65536;

/** A block of linear memory: its byte address and the bytes its size class holds. */
export interface WasmBlock {
  readonly ptr: number;
  readonly capacity: number;
}

export class WasmAllocator {
  private readonly free: number[][] = [];
  private top: number;
  private liveBlocks = 0;
  private liveBytes = 0;
  private pooledBytes = 0;

  /**
   * @param memory the memory to carve up
   * @param base the first byte that is ours (below it: the kernels' own data and stack)
   * @param maxBytes the most the memory may grow to
   */
  constructor(
    private readonly memory: LinearMemory,
    base: number,
    private readonly maxBytes: number,
  ) {
    this.top = Math.ceil(base / 64) * 64;
  }

  /** A block of at least `bytes` bytes (contents undefined). */
  alloc(bytes: number): WasmBlock {
    const cls = Math.max(MIN_CLASS, Math.ceil(Math.log2(Math.max(1, bytes))));
    const capacity = 2 ** cls;
    const list = (this.free[cls] ??= []);
    let ptr = list.pop();
    if (ptr !== undefined) {
      this.pooledBytes -= capacity;
    } else {
      ptr = this.top;
      const end = ptr + capacity;
      if (end > this.memory.buffer.byteLength) this.grow(end, bytes);
      this.top = end;
    }
    this.liveBlocks++;
    this.liveBytes += capacity;
    return { ptr, capacity };
  }

  /** Returns a block to its class's free list. */
  release(block: WasmBlock): void {
    const cls = Math.log2(block.capacity);
    (this.free[cls] ??= []).push(block.ptr);
    this.liveBlocks--;
    this.liveBytes -= block.capacity;
    this.pooledBytes += block.capacity;
  }

  /** Blocks and bytes held by live tensors, and the bytes waiting in the free lists. */
  stats(): { blocks: number; bytes: number; pooledBytes: number; memoryBytes: number } {
    return { blocks: this.liveBlocks, bytes: this.liveBytes, pooledBytes: this.pooledBytes, memoryBytes: this.memory.buffer.byteLength };
  }

  private grow(end: number, asked: number): void {
    if (end > this.maxBytes) {
      throw new Error(
        `wasm backend: out of memory: a tensor of ${asked} bytes needs the linear memory to reach ${end} bytes, ` +
          `over its limit of ${this.maxBytes} bytes (${this.liveBytes} bytes held by live tensors)`,
      );
    }
    // At least double, so a growing training run grows a few times, not once per tensor.
    const have = this.memory.buffer.byteLength;
    const target = Math.min(this.maxBytes, Math.max(end, 2 * have));
    this.memory.grow(Math.ceil((target - have) / PAGE));
  }
}

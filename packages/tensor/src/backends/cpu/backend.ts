// The CPU reference backend: storage is a plain typed array, kernels are straightforward
// loops in ./kernels-*.ts. Written for clarity and float64 exactness, not speed: it is the
// oracle the WebGPU kernels are tested against.

import type { DType, TypedArray } from '../../dtype.js';
import type { Backend, MemoryInfo, TensorMeta } from '../../backend.js';

/** The CPU reference backend: storage is a typed array, kernels are plain loops (float64 capable). */
export class CpuBackend implements Backend<'cpu'> {
  readonly name = 'cpu' as const;
  readonly supportsFloat64 = true;
  private live = new Set<TypedArray>();
  private liveBytes = 0;

  /** Records a kernel's output (or an upload) so `memory()` can count it. */
  adopt(a: TypedArray): TypedArray {
    if (!this.live.has(a)) {
      this.live.add(a);
      this.liveBytes += a.byteLength;
    }
    return a;
  }

  /** Takes `data` as a tensor's storage (no copy). */
  fromHost(data: TypedArray, _dtype: DType): TypedArray {
    return this.adopt(data);
  }

  /** A copy of the values. */
  async toHost(handle: TypedArray, _meta: TensorMeta): Promise<TypedArray> {
    return handle.slice();
  }

  toHostSync(handle: TypedArray, _meta: TensorMeta): TypedArray {
    return handle.slice();
  }

  view(handle: TypedArray, offset: number, size: number, _dtype: DType): TypedArray {
    if (offset < 0 || offset + size > handle.length) {
      throw new RangeError(`cpu view: elements ${offset}..${offset + size} outside a block of ${handle.length}`);
    }
    return handle.subarray(offset, offset + size);
  }

  copy(src: TypedArray, dst: TypedArray, size: number, _dtype: DType): void {
    dst.set(src.subarray(0, size));
  }

  /** Forgets a block (the garbage collector reclaims it). */
  free(handle: TypedArray): void {
    if (this.live.delete(handle)) this.liveBytes -= handle.byteLength;
  }

  /** Live blocks and their bytes. */
  memory(): MemoryInfo {
    return { buffers: this.live.size, bytes: this.liveBytes };
  }
}

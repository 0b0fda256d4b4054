// The CPU reference backend: storage is a plain typed array, kernels are straightforward
// loops in ./kernels-*.ts. Written for clarity and float64 exactness, not speed: it is the
// oracle the WebGPU kernels are tested against.

import type { DType, TypedArray } from '../../dtype.js';
import type { Backend, MemoryInfo, TensorMeta } from '../../backend.js';

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

  fromHost(data: TypedArray, _dtype: DType): TypedArray {
    return this.adopt(data);
  }

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

  free(handle: TypedArray): void {
    if (this.live.delete(handle)) this.liveBytes -= handle.byteLength;
  }

  memory(): MemoryInfo {
    return { buffers: this.live.size, bytes: this.liveBytes };
  }
}

/// <reference types="@webgpu/types" preserve="true" />
// @aitm/tensor: tensors, reverse-mode autograd, a float64 CPU reference backend and a
// WebGPU backend with hand-written WGSL kernels. The WebGPU types (GPUDevice, GPUBuffer, ...)
// come from @webgpu/types, a dependency, so a consumer's strict type check finds them.

import './backends.js';
import './methods.js';

export { Tensor, type NestedArray, type TensorLike } from './tensor.js';
export type { DType, TypedArray } from './dtype.js';
export type * from './attrs.js';
export type { Shape } from './shape.js';
export { broadcastShapes, sizeOf, fmtShape } from './shape.js';
export * from './creation.js';
export * from './ops/index.js';
export { noGrad, enableGrad, isGradEnabled } from './grad-mode.js';
export { gradients, grad, composedGrad, type BackwardOptions, type GradientsOptions } from './autograd.js';
export { GraphNode, type Edge, type GradHook } from './graph.js';
export { toDot, toSvg, graphOf, type DrawnGraph, type DrawnNode, type DrawnEdge, type TensorNames } from './draw.js';
export { tidy, keep, memory, trackLeaks, type MemoryReport } from './memory.js';
export { profile, type ProfileInfo, type ProfiledOp } from './profile.js';
export { adamStep_, type AdamStepHyper } from './fused/adam.js';
export { checkRange } from './check-range.js';
export { FlatBlock, FLAT_ALIGN, storageView } from './fused/flat.js';
export { gradcheck, type GradcheckOptions, type GradcheckResult } from './gradcheck.js';
export { Generator, manualSeed, defaultGenerator } from './random.js';
export { setDeterministic, isDeterministic } from './determinism.js';
export { setBackend, getBackendName, initBackend, type InitBackendOptions } from './backends.js';
export { initWebGpu, tryInitWebGpu, disposeWebGpu, webGpuAdapter, webGpuBackend, gpuCounters, gpuProfile, flushGpu, watchPipelineCompiles } from './backends/webgpu/init.js';
export type { AdapterReport, OpProfile, RuntimeStats } from './backends/webgpu/runtime.js';
export type { BackendName, KernelTable, Kernel, KernelInput, TensorMeta } from './backend.js';
export { debugKernels, isKernelDebugOn, formatKernel, type KernelDebugEntry, type KernelDebugSink, type KernelTensorInfo } from './kernel-debug.js';
export { defineOp, runOp, opRegistry, traceOps, type OpDef, type GradRule, type GradContext } from './op.js';
// For packages that define their own fused ops: a WGSL kernel is run through the backend
// with a parameter block (`Params`, read in WGSL with pu/pi/pf) after `kernelPreamble`.
export { withMatmulKernel } from './backends/webgpu/matmul.js';
export type { MatmulKernelChoice } from './backends/webgpu/matmul-plan.js';
export { kernelPreamble, memoWgsl, wgslType, type WebGpuBackend } from './backends/webgpu/backend.js';
export { Params } from './backends/webgpu/params.js';
export type { GpuBuffer } from './backends/webgpu/runtime.js';
export type { CpuBackend } from './backends/cpu/backend.js';
export { initWasm, disposeWasm, wasmBackend, wasmFlavour, setNumThreads, wasmThreads } from './backends/wasm/init.js';
export { enableRelaxedSimd, hasRelaxedSimd } from './backends/wasm/relaxed-simd.js';
export type { WasmThreadsInfo } from './backends/wasm/init.js';
export type { WasmBackend, WasmBuffer } from './backends/wasm/backend.js';
export type { WasmFlavour, LinearMemory } from './backends/wasm/module.js';
// For packages with wasm kernels of their own (AssemblyScript built by scripts/build-wasm.mjs).
export { defineWasmKernels, WasmKernelLibrary } from './backends/wasm/library.js';
export type { WasmBinaries, WasmKernelExports } from './backends/wasm/library.js';
// For packages that define their own ops: an op with no wasm kernel of its own runs its CPU
// reference loop on wasm memory (`kernels: referenceOnWasm({ cpu, webgpu })`).
export { referenceOnWasm, onWasmMemory, isReferenceOnWasm } from './backends/wasm/reference.js';
export { allocArray } from './dtype.js';

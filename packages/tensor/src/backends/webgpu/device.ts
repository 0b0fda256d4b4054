// Opens a WebGPU device with the adapter's full limits, because the WebGPU defaults are far
// smaller than what tensor kernels need. One engine, two hosts: a browser (or any host with
// `navigator.gpu`) provides WebGPU itself; in Node it comes from Dawn, the `webgpu` npm
// package, which is imported only there (dynamically), so a browser bundle never pulls in
// the native module.

import { isNode } from '../../env.js';

/** The GPU adapter in use: vendor, architecture, description, features, and whether it is a software one. */
export interface AdapterReport {
  vendor: string;
  architecture: string;
  description: string;
  device: string;
  /** The optional features that were found and enabled on the device. */
  features: string[];
  /** True for CPU implementations such as llvmpipe/lavapipe or SwiftShader. */
  isSoftware: boolean;
}

/** The limits requested from the adapter (its own maxima, not the WebGPU defaults). */
export interface RuntimeLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  maxStorageBuffersPerShaderStage: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupSizeY: number;
  maxComputeWorkgroupSizeZ: number;
  maxComputeWorkgroupsPerDimension: number;
  minUniformBufferOffsetAlignment: number;
  minStorageBufferOffsetAlignment: number;
}

const LIMIT_NAMES: (keyof RuntimeLimits)[] = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'minUniformBufferOffsetAlignment',
  'minStorageBufferOffsetAlignment',
];

const OPTIONAL_FEATURES: GPUFeatureName[] = ['shader-f16', 'timestamp-query', 'subgroups'];

const NO_ADAPTER_HELP =
  'WebGPU: no GPU adapter found. Dawn needs a Vulkan driver. Without a GPU, install the ' +
  'software one (Mesa lavapipe, Mesa >= 24): on Debian 12, `apt-get install libvulkan1` and ' +
  '`apt-get install -t bookworm-backports mesa-vulkan-drivers` (see .ci/install-vulkan.sh). ' +
  'Set XDG_RUNTIME_DIR=/tmp to silence Mesa warnings.';

// Dawn crashes the process at random if the object create() returns is garbage
// collected while devices live, so one instance is kept for the whole process.
let gpuInstance: GPU | undefined;

/** The host's WebGPU: `navigator.gpu` where it exists (browsers, Deno), else Dawn in Node. */
async function gpu(): Promise<GPU> {
  if (gpuInstance) return gpuInstance;
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return (gpuInstance = nav.gpu);
  if (!isNode()) throw new Error('WebGPU: this host has no navigator.gpu (in a browser it needs a secure context: https or http://127.0.0.1)');
  // A variable module name keeps bundlers from following it into the native module.
  const dawn = 'webgpu';
  const { create, globals } = (await import(/* @vite-ignore */ dawn)) as { create: (flags: string[]) => GPU; globals: object };
  // GPUBufferUsage, GPUMapMode, ... are plain constants Dawn exports. globalThis.navigator
  // is deliberately not set: with it Node cannot exit.
  Object.assign(globalThis, globals);
  return (gpuInstance = create([]));
}

/** True for a CPU implementation of WebGPU: a fallback adapter, llvmpipe/lavapipe or SwiftShader. */
export function isSoftwareAdapter(info: { vendor: string; architecture: string; description: string; isFallbackAdapter?: boolean }): boolean {
  return info.isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader|software/i.test(`${info.vendor} ${info.architecture} ${info.description}`);
}

export interface OpenedDevice {
  device: GPUDevice;
  adapter: AdapterReport;
  limits: RuntimeLimits;
}

export async function openDevice(powerPreference?: GPUPowerPreference): Promise<OpenedDevice> {
  // On Mesa's lavapipe, Dawn prints two lines here, inside requestAdapter, before any limit is
  // asked for: "maxDynamicUniformBuffersPerPipelineLayout (and ...Storage...) artificially
  // reduced from 1000000 to 16 to fit dynamic offset allocation limit" (the driver reports
  // 1000000 dynamic buffers; Dawn caps the adapter's limit). Requesting fewer limits, or
  // none, prints them all the same (checked), and Dawn writes them from native code, so they
  // cannot be filtered from here; they are harmless (no kernel uses dynamic storage buffers,
  // and one dynamic uniform each). initBackend's automatic choice asks a child process first
  // (adapter-probe.ts), so a run that ends up on the wasm backend never prints them.
  const adapter = await (await gpu()).requestAdapter(powerPreference ? { powerPreference } : undefined);
  if (!adapter) throw new Error(NO_ADAPTER_HELP);

  const requiredLimits: Record<string, number> = {};
  for (const name of LIMIT_NAMES) requiredLimits[name] = adapter.limits[name];
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });

  const limits = {} as RuntimeLimits;
  for (const name of LIMIT_NAMES) limits[name] = device.limits[name];

  const info = adapter.info;
  return {
    device,
    limits,
    adapter: {
      vendor: info.vendor,
      architecture: info.architecture,
      description: info.description,
      device: info.device,
      features: requiredFeatures,
      isSoftware: isSoftwareAdapter(info),
    },
  };
}

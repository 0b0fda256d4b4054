// Compiles each (WGSL source, entry point) once. Compilation is the slow part of a
// first dispatch, and its errors are checked asynchronously so dispatch() can stay sync.
// Pipelines live in memory, per device: each new process (or device) compiles them again on
// first use; `onCreated` lets a caller report that as it happens (the trainer's warm-up).
// The bind group layout is written out from the shader's declarations (storage buffers
// read-only or read-write, the uniform block with a dynamic offset), not left to 'auto':
// with the uniform slot as a dynamic offset, a bind group no longer changes from one
// dispatch to the next and the runtime can reuse it.

import { reportPipeline } from '../../kernel-debug.js';

export interface CachedPipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  /** A small id for bind-group cache keys. */
  id: number;
  /** True when the layout is explicit and its uniform binding (if any) takes a dynamic offset. */
  dynamicUniform: boolean;
}

type BindingType = 'read-only-storage' | 'storage' | 'uniform';

/**
 * The group-0 bindings a WGSL source declares, or null when they cannot be read simply
 * (anything but `@group(0) @binding(n) var<storage, read|read_write>` / `var<uniform>`),
 * in which case the pipeline falls back to an 'auto' layout.
 */
export function bindingsOf(code: string): Map<number, BindingType> | null {
  const out = new Map<number, BindingType>();
  const decl = /@group\((\d+)\)\s*@binding\((\d+)\)\s*var\s*<\s*(storage|uniform)\s*(?:,\s*(read|read_write)\s*)?>/g;
  for (const m of code.matchAll(decl)) {
    if (m[1] !== '0') return null;
    const type: BindingType = m[3] === 'uniform' ? 'uniform' : m[4] === 'read_write' ? 'storage' : 'read-only-storage';
    out.set(Number(m[2]), type);
  }
  if ((code.match(/@binding\(/g) ?? []).length !== out.size) return null;
  return out;
}

/** Receives a pipeline failure together with the sequence number of the dispatch that created it. */
export type PipelineErrorSink = (seq: number, error: Error) => void;

export class PipelineCache {
  // Keyed by entry point, then by the code string itself: a concatenated key would be a new
  // string per dispatch, re-hashed in full each time; a kernel that reuses its code string
  // object hits V8's cached hash.
  private readonly cache = new Map<string, Map<string, CachedPipeline>>();
  private readonly pending = new Set<Promise<void>>();
  created = 0;
  /** Called after each pipeline is compiled, with the count so far and the op's label. */
  readonly onCreated = new Set<(created: number, label: string) => void>();

  constructor(
    private readonly device: GPUDevice,
    private readonly onError: PipelineErrorSink,
  ) {}

  get(label: string, code: string, entryPoint: string, seq: number): CachedPipeline {
    let byCode = this.cache.get(entryPoint);
    if (byCode === undefined) this.cache.set(entryPoint, (byCode = new Map()));
    const hit = byCode.get(code);
    if (hit) return hit;
    const codes = byCode;

    // The scope catches shader and pipeline errors here, so they are reported with the
    // compiler's messages instead of as a generic uncaptured error.
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ label, code });
    const bindings = bindingsOf(code);
    let entry: CachedPipeline;
    if (bindings) {
      const layout = this.device.createBindGroupLayout({
        label,
        entries: [...bindings].map(([binding, type]) => ({
          binding,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type, hasDynamicOffset: type === 'uniform' },
        })),
      });
      const pipelineLayout = this.device.createPipelineLayout({ label, bindGroupLayouts: [layout] });
      const pipeline = this.device.createComputePipeline({ label, layout: pipelineLayout, compute: { module, entryPoint } });
      entry = { pipeline, layout, id: this.created, dynamicUniform: true };
    } else {
      const pipeline = this.device.createComputePipeline({ label, layout: 'auto', compute: { module, entryPoint } });
      entry = { pipeline, layout: pipeline.getBindGroupLayout(0), id: this.created, dynamicUniform: false };
    }
    const check = this.device
      .popErrorScope()
      .then(async (error) => {
        if (!error) return;
        codes.delete(code); // the next dispatch of this shader tries (and reports) again
        this.onError(seq, await describeFailure(label, module, error));
      })
      .catch((e: unknown) => this.onError(seq, new Error(`WebGPU: checking pipeline for op "${label}": ${e}`)));
    this.pending.add(check);
    void check.finally(() => this.pending.delete(check));

    byCode.set(code, entry);
    this.created++;
    for (const listener of this.onCreated) listener(this.created, label);
    reportPipeline(label, entryPoint, code); // AITM_DEBUG=wgsl / debugKernels(true): print it
    return entry;
  }

  /** Resolves once every pipeline created so far has been checked. */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}

async function describeFailure(label: string, module: GPUShaderModule, error: GPUError): Promise<Error> {
  const info = await module.getCompilationInfo();
  const lines = info.messages
    .filter((m) => m.type === 'error')
    .map((m) => `  line ${m.lineNum}:${m.linePos}: ${m.message}`);
  if (lines.length === 0) return new Error(`WebGPU: pipeline for op "${label}" is invalid: ${error.message}`);
  return new Error(`WebGPU: WGSL for op "${label}" failed to compile:\n${lines.join('\n')}`);
}

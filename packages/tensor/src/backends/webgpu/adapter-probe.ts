// Which WebGPU adapter this Node process would get, asked in a child process. Dawn writes
// warnings to the process's stderr from native code while it enumerates adapters (on Mesa's
// lavapipe: "maxDynamicUniformBuffersPerPipelineLayout artificially reduced ..."), which
// nothing in JavaScript can filter. `initBackend` asks here before it loads Dawn itself, so a
// run that ends up on the wasm backend (the only adapter is a software one) never loads Dawn
// and prints nothing a user cannot act on. Node only; elsewhere, and whenever the child cannot
// answer, the caller opens the adapter in-process as before.

import { isNode } from '../../env.js';
import { isSoftwareAdapter } from './device.js';

/** What the child found: an adapter (and whether it is a software one), or none and why. */
export type AdapterProbe =
  | { found: true; vendor: string; description: string; device: string; isSoftware: boolean }
  | { found: false; reason: string };

// The child: loads Dawn from the path the parent resolved, asks for the default adapter, prints
// one JSON line on stdout and exits (its stderr, Dawn's warnings included, is discarded).
const CHILD = `
const [url] = process.argv.slice(-1);
const { create } = await import(url);
const gpu = create([]);
const a = await gpu.requestAdapter();
const i = a?.info;
process.stdout.write(JSON.stringify(a ? { found: true, vendor: i.vendor, architecture: i.architecture, description: i.description, device: i.device, isFallbackAdapter: i.isFallbackAdapter === true } : { found: false }) + '\\n');
process.exit(0);
`;

interface ChildReply {
  found: boolean;
  vendor?: string;
  architecture?: string;
  description?: string;
  device?: string;
  isFallbackAdapter?: boolean;
}

/** The little of Node this module uses, typed here so the package type-checks with browser types. */
interface NodeProcess {
  execPath: string;
  env: Record<string, string | undefined>;
}
type ExecFile = (
  file: string,
  args: string[],
  opts: { timeout: number; env: Record<string, string | undefined>; maxBuffer: number },
  done: (err: Error | null, stdout: string) => void,
) => void;

const nodeProcess = (): NodeProcess | null => (isNode() ? (globalThis as unknown as { process: NodeProcess }).process : null);

/**
 * Asks a child Node process for the default WebGPU adapter. Returns null where that cannot be
 * asked (not Node, no `webgpu` package, the child failed or took longer than `timeoutMs`): the
 * caller then opens the adapter in this process.
 */
export async function probeAdapterInChild(timeoutMs = 60_000): Promise<AdapterProbe | null> {
  const proc = nodeProcess();
  if (proc === null) return null;
  try {
    // Variable names keep bundlers from following these into Node's modules.
    const cp = 'node:child_process';
    const mod = 'node:module';
    const url = 'node:url';
    const { execFile } = (await import(/* @vite-ignore */ cp)) as { execFile: ExecFile };
    const { createRequire } = (await import(/* @vite-ignore */ mod)) as { createRequire: (from: string) => { resolve: (id: string) => string } };
    const { pathToFileURL } = (await import(/* @vite-ignore */ url)) as { pathToFileURL: (path: string) => { href: string } };
    const dawn = pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href;
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        proc.execPath,
        ['--input-type=module', '-e', CHILD, dawn],
        { timeout: timeoutMs, env: { ...proc.env, XDG_RUNTIME_DIR: proc.env['XDG_RUNTIME_DIR'] ?? '/tmp' }, maxBuffer: 1 << 20 },
        (err, out) => (err ? reject(err) : resolve(String(out))),
      );
    });
    const line = stdout.trim().split('\n').at(-1) ?? '';
    const r = JSON.parse(line) as ChildReply;
    if (!r.found) return { found: false, reason: 'no WebGPU adapter found' };
    const info = { vendor: r.vendor ?? '', architecture: r.architecture ?? '', description: r.description ?? '', isFallbackAdapter: r.isFallbackAdapter === true };
    return { found: true, vendor: info.vendor, description: info.description, device: r.device ?? '', isSoftware: isSoftwareAdapter(info) };
  } catch {
    return null;
  }
}

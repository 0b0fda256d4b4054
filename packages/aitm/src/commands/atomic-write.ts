// Every file the CLI writes goes through here: whole or not at all (a temporary file beside
// the target, renamed into place), never onto one of the command's own inputs, never over an
// existing file unless asked, and nothing left behind: a temporary path is removed when the
// write fails and, while it exists, on SIGINT/SIGTERM (the process then exits 130/143). The
// signal handlers are installed only while something is being written.

import { closeSync, existsSync, mkdirSync, openSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileKind, fsFailure } from '../files.js';

// ---- temporary paths removed on SIGINT/SIGTERM ----

const temporaries = new Set<string>();
const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
type Signal = keyof typeof EXIT_CODES;

function onSignal(signal: Signal): void {
  for (const path of temporaries) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch {
      // Nothing more can be done on the way out; the path is named by its suffix as unfinished.
    }
  }
  temporaries.clear();
  process.exit(EXIT_CODES[signal]);
}

const handlers: Record<Signal, () => void> = { SIGINT: () => onSignal('SIGINT'), SIGTERM: () => onSignal('SIGTERM') };

/**
 * Registers a temporary file or folder to be removed if the process gets SIGINT or SIGTERM
 * (it then exits with 130 or 143); returns the function that unregisters it. The handlers
 * exist only while some path is registered, so an idle process keeps the default behaviour.
 *
 * @example
 * const forget = removeOnSignal(tmp);
 * try { ...write tmp, rename it... } finally { forget(); }
 */
export function removeOnSignal(path: string): () => void {
  temporaries.add(path);
  if (temporaries.size === 1) for (const s of Object.keys(handlers) as Signal[]) process.on(s, handlers[s]);
  return () => {
    if (!temporaries.delete(path) || temporaries.size > 0) return;
    for (const s of Object.keys(handlers) as Signal[]) process.off(s, handlers[s]);
  };
}

/** The paths registered by `removeOnSignal` and not yet unregistered (for tests). */
export function pendingTemporaries(): string[] {
  return [...temporaries];
}

// ---- output checks ----

/** An output path's real location: the file's real path, or its parent's real path plus its name. */
function realTarget(path: string): string {
  if (existsSync(path)) return realpathSync(path);
  const parent = dirname(resolve(path));
  return join(existsSync(parent) ? realpathSync(parent) : parent, basename(path));
}

/** Where a command writes a file, and what it must not destroy. */
export interface OutputOptions {
  /** The flag that names the output (e.g. `--out`, `--onnx`), for messages. */
  flag: string;
  /** The command's input files (missing ones and undefined are skipped). */
  inputs: readonly (string | undefined)[];
  /** Replace an existing file (default false: refuse). */
  overwrite?: boolean;
}

/**
 * Throws, naming the path and what to do, when writing `path` would destroy something: one of
 * the command's inputs (compared by real path, so `./a.csv`, a symlink or `dir/../a.csv` are
 * caught; `--overwrite` does not change this), an existing file without `overwrite`, or a
 * directory or device. A missing parent folder is an error too, before any work is done.
 *
 * @example
 * checkOutputFile('runs/ali/model.safetensors', { flag: '--onnx', inputs: ['runs/ali/model.safetensors'] }); // throws
 */
export function checkOutputFile(path: string, opts: OutputOptions): void {
  const target = realTarget(path);
  for (const input of opts.inputs) {
    if (input !== undefined && existsSync(input) && realpathSync(input) === target) {
      throw new Error(`${opts.flag} ${path}: is an input of this command (${input}); writing it would destroy it: choose another path`);
    }
  }
  const parent = dirname(target);
  if (!existsSync(parent)) throw new Error(`${opts.flag} ${path}: its folder ${dirname(path)} does not exist; create it or choose another path`);
  if (!existsSync(path)) return;
  const st = statSync(path);
  if (!st.isFile()) throw new Error(`${opts.flag} ${path}: is ${fileKind(st)}; choose a file path`);
  if (!opts.overwrite) throw new Error(`${opts.flag} ${path}: already exists; pass --overwrite to replace it, or choose another path`);
}

/**
 * Throws, naming the folder, when replacing folder `dir` would delete one of `inputs` (a file
 * inside it, or `dir` inside the input).
 */
export function checkOutputFolder(dir: string, flag: string, inputs: readonly (string | undefined)[]): void {
  if (!existsSync(dir)) return;
  const real = realpathSync(dir);
  for (const input of inputs) {
    if (input === undefined || !existsSync(input)) continue;
    const r = realpathSync(input);
    if (r === real || r.startsWith(`${real}/`)) {
      throw new Error(`${flag} ${dir}: holds ${input}, an input of this command; replacing the folder would delete it: choose another ${flag}`);
    }
  }
}

/**
 * Creates folder `dir` (and its parents) for `flag`, with an error naming the folder and the
 * operation (a recursive mkdir on a read-only or full disk reports ENOENT, or no path).
 */
export function makeFolder(dir: string, flag: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw fsFailure(e, `create the ${flag} folder`, dir);
  }
}

// ---- atomic writes ----

let counter = 0;
const CHUNK = 1 << 20;

/** A fresh temporary name beside `path` (`<path>.tmp-<pid>-<n>`), created exclusively. */
function tempPath(path: string): string {
  return `${path}.tmp-${process.pid}-${counter++}`;
}

function bytesOf(content: string | Uint8Array): Uint8Array {
  return typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
}

function createTemp(path: string, tmp: string): number {
  try {
    return openSync(tmp, 'wx');
  } catch (e) {
    throw fsFailure(e, 'write', path);
  }
}

function renameInto(tmp: string, path: string): void {
  try {
    renameSync(tmp, path);
  } catch (e) {
    throw fsFailure(e, `rename ${tmp} to`, path);
  }
}

/**
 * Writes `content` to `path` atomically (a temporary file beside it, then a rename); on any
 * failure `path` is left as it was, the temporary file is removed and the error names `path`
 * and the operation. It is removed on SIGINT/SIGTERM as well.
 */
export function writeAtomic(path: string, content: string | Uint8Array): void {
  const tmp = tempPath(path);
  const forget = removeOnSignal(tmp);
  try {
    const fd = createTemp(path, tmp);
    try {
      const bytes = bytesOf(content);
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, Math.min(CHUNK, bytes.length - off));
    } catch (e) {
      throw fsFailure(e, 'write', path);
    } finally {
      closeSync(fd);
    }
    renameInto(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    forget();
  }
}

/**
 * `aitm predict --out` and `aitm export --onnx`: checks `path` (`checkOutputFile`), creates its
 * temporary file at once (so an unwritable place fails before the work), runs `produce` and
 * writes what it returns, in chunks (a signal between them removes the temporary file), then
 * renames it into place.
 *
 * @example
 * await writeOutputFile(opts.out, { flag: '--out', inputs: [opts.data] }, async () => csvText);
 */
export async function writeOutputFile(path: string, opts: OutputOptions, produce: () => Promise<string | Uint8Array>): Promise<void> {
  await writeOutputStream(path, opts, async (write) => write(await produce()));
}

/**
 * `aitm predict --out`: as writeOutputFile, but `produce` writes the content piece by piece
 * through `write` as it is computed (nothing needs to hold all of it); the temporary file is
 * renamed into place only once `produce` has finished, and removed on any failure or signal.
 *
 * @example
 * await writeOutputStream(opts.out, { flag: '--out', inputs: [opts.data] }, async (write) => { await write('a,b\n'); });
 */
export async function writeOutputStream(path: string, opts: OutputOptions, produce: (write: (content: string | Uint8Array) => Promise<void>) => Promise<void>): Promise<void> {
  checkOutputFile(path, opts);
  const tmp = tempPath(path);
  const forget = removeOnSignal(tmp);
  try {
    closeSync(createTemp(path, tmp));
    const file = await open(tmp, 'w').catch((e: unknown) => {
      throw fsFailure(e, 'write', path);
    });
    try {
      await produce(async (content) => {
        const bytes = bytesOf(content);
        try {
          for (let off = 0; off < bytes.length; ) off += (await file.write(bytes, off, Math.min(CHUNK, bytes.length - off))).bytesWritten;
        } catch (e) {
          throw fsFailure(e, 'write', path);
        }
      });
    } finally {
      await file.close();
    }
    renameInto(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    forget();
  }
}

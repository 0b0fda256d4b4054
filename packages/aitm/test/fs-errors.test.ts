// A full disk (ENOSPC) or a read-only one (EROFS), simulated by failing node:fs calls the way
// Node does (its write and recursive-mkdir errors name no path, or the wrong one): every error
// names the path and the operation, and no temporary file is left behind.

import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

const fail = vi.hoisted(() => ({ write: null as RegExp | null, open: null as RegExp | null, mkdir: null as RegExp | null, fds: new Map<number, string>() }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const errno = (code: string, syscall: string, message: string) => Object.assign(new Error(`${code}: ${message}, ${syscall}`), { code, syscall });
  const openSync = ((path: string, ...rest: unknown[]) => {
    if (fail.open?.test(String(path))) throw Object.assign(errno('EROFS', 'open', 'read-only file system'), { path });
    const fd = (fs.openSync as (...a: unknown[]) => number)(path, ...rest);
    fail.fds.set(fd, String(path));
    return fd;
  }) as typeof fs.openSync;
  const writeSync = ((fd: number, ...rest: unknown[]) => {
    if (fail.write?.test(fail.fds.get(fd) ?? '')) throw errno('ENOSPC', 'write', 'no space left on device');
    return (fs.writeSync as (...a: unknown[]) => number)(fd, ...rest);
  }) as typeof fs.writeSync;
  const mkdirSync = ((path: string, ...rest: unknown[]) => {
    // What a recursive mkdir reports on a read-only disk: ENOENT, with another path.
    if (fail.mkdir?.test(String(path))) throw Object.assign(errno('ENOENT', 'mkdir', "no such file or directory, mkdir '/'"), { path: '/' });
    return (fs.mkdirSync as (...a: unknown[]) => unknown)(path, ...rest);
  }) as typeof fs.mkdirSync;
  const patched = { ...fs, openSync, writeSync, mkdirSync };
  return { ...patched, default: patched };
});

const { writeAtomic } = await import('../src/commands/atomic-write.js');
const { compareCommand, predictCommand } = await import('../src/node.js');

const tmp = () => mkdtempSync(join(tmpdir(), 'aitm-fs-'));

afterEach(() => {
  fail.write = fail.open = fail.mkdir = null;
});

describe('file-system errors name the path and the operation, and leave nothing behind', () => {
  it('ENOSPC while writing: the target named, no temporary file left', () => {
    const dir = tmp();
    fail.write = /compare\.md\.tmp-/;
    expect(() => writeAtomic(join(dir, 'compare.md'), 'x'.repeat(1000))).toThrow(`cannot write ${join(dir, 'compare.md')}: no space left on device (ENOSPC)`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('compare on a full disk: ENOSPC at compare.md names it and leaves no compare.md.tmp-*', async () => {
    const out = join(tmp(), 'cmp');
    fail.write = /compare\.md\.tmp-/;
    await expect(
      compareCommand({ models: ['sharedbottom'], seeds: 1, rows: 600, epochs: 1, batchSize: 256, backend: 'cpu', out, quiet: true, log: () => {} }),
    ).rejects.toThrow(`cannot write ${join(out, 'compare.md')}: no space left on device (ENOSPC)`);
    expect(readdirSync(out).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('compare on a read-only disk: the --out folder is named, not "ENOENT ... mkdir \'/\'"', async () => {
    const out = join(tmp(), 'cmp');
    fail.mkdir = /cmp$/;
    await expect(compareCommand({ models: ['sharedbottom'], seeds: 1, rows: 600, out, backend: 'cpu', quiet: true, log: () => {} })).rejects.toThrow(
      `cannot create the --out folder ${out}: no such file or folder (ENOENT)`,
    );
  });

  it('EROFS on predict --out names the output file, and nothing is left', async () => {
    const dir = tmp();
    fail.open = /p\.csv\.tmp-/;
    const data = join(dir, 'd.csv');
    await expect(predictCommand({ checkpoint: 'unused.pth', data, out: join(dir, 'p.csv'), backend: 'cpu' })).rejects.toThrow(
      `cannot write ${join(dir, 'p.csv')}: read-only file system (EROFS)`,
    );
    expect(readdirSync(dir)).toEqual([]);
  });
});

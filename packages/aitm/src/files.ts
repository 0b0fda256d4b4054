// What the CLI reads must be a regular file (a directory, a device or a FIFO is refused at
// once: /dev/zero or a FIFO would be read forever), and every file-system error it reports
// names the path and the operation (Node's own messages for a write or a recursive mkdir name
// neither, or the wrong one).

import { statSync, type Stats } from 'node:fs';

const REASONS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EDQUOT: 'disk quota exceeded',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'is a folder',
  EEXIST: 'already exists',
  EIO: 'input/output error',
};

/**
 * An Error saying which operation on which path failed and why (`cannot write out.csv: no
 * space left on device (ENOSPC)`), for a Node file-system error; anything else is returned
 * as it is.
 *
 * @example
 * try { writeSync(fd, bytes); } catch (e) { throw fsFailure(e, 'write', file); }
 */
export function fsFailure(e: unknown, op: string, path: string): Error {
  const err = e as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof err.code !== 'string') return e instanceof Error ? e : new Error(String(e));
  const reason = REASONS[err.code] ?? err.message.replace(/^[A-Z]+: /, '').replace(/, \w+( '.*')?$/, '');
  return new Error(`cannot ${op} ${path}: ${reason} (${err.code})`, { cause: e });
}

/** What a non-regular file is, in words ("a directory", "a FIFO (named pipe)", ...). */
export function fileKind(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Throws unless `path` is a regular file (symbolic links followed), naming `what` (a flag or
 * a role, e.g. `--data`) and the path: a missing file, a directory, a device, a FIFO or a
 * socket is refused before it is opened (opening a FIFO would block, reading /dev/zero would
 * never end).
 *
 * @example
 * checkInputFile('/dev/zero', '--data'); // throws "--data /dev/zero: is a character device, not a regular file"
 */
export function checkInputFile(path: string, what: string): void {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${what} ${path}: file not found (ENOENT)`);
    throw fsFailure(e, `read ${what}`, path);
  }
  if (!st.isFile()) throw new Error(`${what} ${path}: is ${fileKind(st)}, not a regular file`);
}

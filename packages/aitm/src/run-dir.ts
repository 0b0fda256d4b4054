// A run folder is whole or clearly not. Everything a command writes goes into a staging
// folder beside the target (`DIR.staging-<pid>-<n>`), which becomes DIR in one rename at the
// end; a killed or failed run leaves no half-written DIR (at most a staging folder, named as
// such). A lock file (`DIR.lock`, holding the writer's pid) keeps a second run from writing the
// same DIR at the same time; a lock left by a process that no longer exists is taken over.
// A DIR that already holds a run is replaced only when asked (`overwrite`), and never when it
// holds one of the command's inputs. On SIGINT/SIGTERM the staging folder and the lock are
// removed (commands/atomic-write.ts' removeOnSignal); only SIGKILL leaves them behind.

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { checkOutputFolder, removeOnSignal } from './commands/atomic-write.js';
import { fsFailure } from './files.js';

let staged = 0;

/** Whether a process with this pid exists (signal 0 checks without signalling). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function takeLock(lock: string, dir: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number.parseInt(readFileSync(lock, 'utf8'), 10);
      if (Number.isInteger(pid) && alive(pid)) {
        throw new Error(`--out ${dir}: another run (pid ${pid}) is writing it (lock ${lock}); wait for it or choose another --out`);
      }
      // Left by a run that was killed: its staging folders go too.
      const base = basename(dir);
      for (const f of readdirSync(dirname(lock))) if (f.startsWith(`${base}.staging-${pid}-`)) rmSync(join(dirname(lock), f), { recursive: true, force: true });
      rmSync(lock, { force: true });
    }
  }
  throw new Error(`--out ${dir}: cannot take the lock ${lock}`);
}

/** Options of writing a run folder. */
export interface RunDirOptions {
  /** Replace a DIR that already holds a run (default false: refuse). */
  overwrite?: boolean;
  /** The command's input files: a DIR holding one of them is never replaced. */
  inputs?: readonly (string | undefined)[];
}

/**
 * Checks that `dir` can be written (before any long work), then runs `write(staging)` and
 * moves the staging folder into place as `dir`. On any error the staging folder is removed
 * and `dir` is left as it was.
 *
 * @example
 * await writeRunDir('runs/ali', {}, async (stage) => { writeFileSync(join(stage, 'config.json'), text); });
 */
export async function writeRunDir<T>(dir: string, opts: RunDirOptions, write: (staging: string) => Promise<T>): Promise<T> {
  if (existsSync(dir) && readdirSync(dir).length > 0 && !opts.overwrite) {
    throw new Error(`--out ${dir}: already holds files (another run's?); choose another --out or pass --overwrite`);
  }
  checkOutputFolder(dir, '--out', opts.inputs ?? []);
  const parent = dirname(dir);
  try {
    mkdirSync(parent, { recursive: true });
  } catch (e) {
    throw new Error(`--out ${dir}: cannot create its parent folder (${fsFailure(e, 'create', parent).message})`);
  }
  const lock = join(parent, `${basename(dir)}.lock`);
  const staging = join(parent, `${basename(dir)}.staging-${process.pid}-${staged++}`);
  try {
    takeLock(lock, dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== undefined) throw fsFailure(e, 'take the --out lock', lock);
    throw e;
  }
  // Both are ours from here on; the rename below is synchronous, so no handler runs inside it.
  const forgetLock = removeOnSignal(lock);
  const forgetStaging = removeOnSignal(staging);
  try {
    try {
      mkdirSync(staging);
      const result = await write(staging);
      const move = (from: string, to: string): void => {
        try {
          renameSync(from, to);
        } catch (e) {
          throw fsFailure(e, `rename ${from} to`, to);
        }
      };
      if (existsSync(dir)) {
        // Replacing a run (overwrite): move it aside first, so DIR is always one whole run.
        const old = `${staging}.old`;
        move(dir, old);
        move(staging, dir);
        rmSync(old, { recursive: true, force: true });
      } else {
        move(staging, dir);
      }
      return result;
    } catch (e) {
      throw (e as NodeJS.ErrnoException).code !== undefined && (e as NodeJS.ErrnoException).syscall !== undefined ? fsFailure(e, 'write the run folder', staging) : e;
    } finally {
      rmSync(staging, { recursive: true, force: true });
      rmSync(lock, { force: true });
    }
  } finally {
    forgetStaging();
    forgetLock();
  }
}

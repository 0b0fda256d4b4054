// A run folder is whole or clearly not: staged and renamed into place, locked against a
// second writer, never half-replaced; killed runs leave no DIR and no lock that blocks.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { writeRunDir } from '../src/run-dir.js';
import { trainCommand } from '../src/node.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'aitm-rundir-'));
const quiet = { log: () => {}, quiet: true };

describe('run folders', () => {
  it('a run that fails while writing leaves no folder, no staging folder and no lock', async () => {
    const parent = tmp();
    const out = join(parent, 'run');
    await expect(
      writeRunDir(out, {}, async (stage) => {
        writeFileSync(join(stage, 'config.json'), '{}');
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(readdirSync(parent)).toEqual([]);
  });

  it('refuses a folder that holds another run unless overwrite, which replaces it whole', async () => {
    const out = join(tmp(), 'run');
    mkdirSync(out);
    writeFileSync(join(out, 'model.safetensors'), 'old');
    writeFileSync(join(out, 'stale-plot.svg'), 'old');
    await expect(writeRunDir(out, {}, async () => {})).rejects.toThrow(`--out ${out}: already holds files (another run's?); choose another --out or pass --overwrite`);
    await writeRunDir(out, { overwrite: true }, async (stage) => writeFileSync(join(stage, 'model.safetensors'), 'new'));
    expect(readdirSync(out)).toEqual(['model.safetensors']); // no stale plot from the old run
    expect(readFileSync(join(out, 'model.safetensors'), 'utf8')).toBe('new');
  });

  it('an --out that cannot be created is an error naming the flag, before any work', async () => {
    const file = join(tmp(), 'a-file');
    writeFileSync(file, '');
    let ran = false;
    await expect(writeRunDir(join(file, 'run'), {}, async () => void (ran = true))).rejects.toThrow(`--out ${join(file, 'run')}: cannot create its parent folder`);
    expect(ran).toBe(false);
  });

  it('a lock left by a process that no longer exists is taken over', async () => {
    const parent = tmp();
    writeFileSync(join(parent, 'run.lock'), '999999999\n');
    await writeRunDir(join(parent, 'run'), {}, async (stage) => writeFileSync(join(stage, 'x'), '1'));
    expect(readdirSync(parent)).toEqual(['run']);
  });

  it('two runs racing for one --out: one writes it, the other is refused while the first holds the lock', async () => {
    const out = join(tmp(), 'run');
    const opts = { syntheticRows: 3000, epochs: 1, batchSize: 512, backend: 'cpu' as const, out, ...quiet };
    const results = await Promise.allSettled([trainCommand(opts), trainCommand({ ...opts, seed: 2 })]);
    const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(failed).toHaveLength(1);
    expect(String(failed[0]!.reason)).toMatch(/--out .*run: another run \(pid \d+\) is writing it|already holds files/);
    expect(readdirSync(out).sort()).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'report.json']));
  });

  const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
  it.runIf(existsSync(cli))('a run killed while it trains leaves no --out folder, and the next run takes over its lock', async () => {
    const parent = tmp();
    const out = join(parent, 'run');
    const child = spawn(process.execPath, [cli, 'train', '--rows', '200000', '--epochs', '5', '--backend', 'cpu', '--out', out, '--quiet'], { stdio: 'ignore' });
    // Kill it once its lock exists (it has checked --out and is training).
    for (let i = 0; i < 300 && !existsSync(join(parent, 'run.lock')); i++) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(join(parent, 'run.lock'))).toBe(true);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(parent).some((f) => f.startsWith('run.staging-'))).toBe(true); // named as unfinished
    await trainCommand({ syntheticRows: 2000, epochs: 1, batchSize: 512, backend: 'cpu', out, ...quiet });
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
    expect(readdirSync(parent)).toEqual(['run']); // the killed run's lock and staging folder are gone
  }, 60_000);
});

// The first three programs a PyTorch user writes (examples/src), built by `pnpm build` and run
// here as a user runs them, `node examples/dist/<name>.js`, with their output checked against
// references: the toy set's labels, a reload of the saved model, and PyTorch's predictions
// for the committed model dir (torch-rechub's AITM, packages/aitm/test/fixtures/reverse).

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

function run(name: string): string {
  return execFileSync(process.execPath, [join(root, 'examples', 'dist', `${name}.js`)], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('examples/', () => {
  beforeAll(() => {
    // dist/ as the sources are now (a no-op when setup's build is current).
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', join(root, 'examples')], { stdio: 'pipe' });
  }, 300_000);

  it('mlp-dataloader: an MLP fed by a DataLoader learns the two half-moons', () => {
    const out = run('mlp-dataloader');
    expect(out).toContain('parameters fc1.weight fc1.bias fc2.weight fc2.bias out.weight out.bias');
    expect(Number(/accuracy (\S+)/.exec(out)![1])).toBeGreaterThan(0.95);
  }, 300_000);

  it('two-head: fields register, both heads learn, and the saved model reloads to the same predictions', () => {
    const out = run('two-head');
    expect(out).toContain('parameters trunk.weight trunk.bias click.weight click.bias purchase.weight purchase.bias');
    expect(out).toContain('reloaded identical true');
    expect(Number(/click accuracy (\S+)/.exec(out)![1])).toBeGreaterThan(0.9);
  }, 300_000);

  it("predict-aitm: a trained AITM loaded from its model dir predicts what PyTorch predicts", () => {
    const out = run('predict-aitm');
    const torch = readFileSync(join(root, 'packages/aitm/test/fixtures/reverse/torch-predictions.csv'), 'utf8').trim().split('\n');
    const [header, ...rows] = torch;
    const cols = header!.split(',');
    for (let i = 0; i < 3; i++) {
      const want = rows[i]!.split(',').map(Number);
      const line = new RegExp(`row ${i}: click (\\S+), purchase (\\S+)`).exec(out)!;
      expect(Number(line[1])).toBeCloseTo(want[cols.indexOf('click')]!, 4);
      expect(Number(line[2])).toBeCloseTo(want[cols.indexOf('purchase')]!, 4);
    }
  }, 300_000);
});

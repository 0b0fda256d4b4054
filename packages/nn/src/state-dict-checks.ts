// Checks the values of a state dict before a model uses them: a checkpoint with a NaN bias
// or a negative running variance loads without complaint and then predicts NaN. Every float
// tensor must be finite, and every BatchNorm statistic within its range.

import type { SafetensorsEntry } from './safetensors.js';
import { truncate } from './untrusted.js';

/** One invalid tensor of a state dict: its name and what is wrong with it. */
export interface StateDictProblem {
  readonly tensor: string;
  readonly what: string;
}

/** Options of the state-dict checks. */
export interface CheckStateDictOptions {
  /** Names the source (a file path) in the message. Default '<state dict>'. */
  file?: string;
  /** 'error' (the default) throws an `InvalidStateDictError` naming every problem; 'warn' reports them and goes on. */
  onProblem?: 'error' | 'warn';
  /** Where 'warn' reports the message (default console.warn). */
  warn?: (message: string) => void;
}

/** Thrown by `checkStateDict` (and so by checkpoint loading) when a tensor holds invalid values. */
export class InvalidStateDictError extends Error {
  /** Every problem found, in entry order. */
  readonly problems: readonly StateDictProblem[];
  constructor(message: string, problems: readonly StateDictProblem[]) {
    super(message);
    this.name = 'InvalidStateDictError';
    this.problems = problems;
  }
}

const isNamed = (name: string, leaf: string): boolean => name === leaf || name.endsWith(`.${leaf}`);

/** What is wrong with one entry's values, or null. */
function problemOf(e: Pick<SafetensorsEntry, 'name' | 'dtype' | 'data'>): string | null {
  const data = e.data;
  const isFloat = e.dtype === 'F32' || e.dtype === 'F64';
  if (isFloat) {
    let bad = 0;
    let first = -1;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]!)) {
        if (bad++ === 0) first = i;
      }
    }
    if (bad > 0) return `holds ${bad} non-finite value${bad === 1 ? '' : 's'} of ${data.length} (first: ${data[first]} at element ${first}); expected finite values`;
  }
  if (isNamed(e.name, 'running_var')) {
    for (let i = 0; i < data.length; i++) {
      if (data[i]! < 0) return `a running variance must be >= 0, but element ${i} is ${data[i]}`;
    }
  }
  if (isNamed(e.name, 'num_batches_tracked')) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (!Number.isInteger(v) || v < 0) return `a batch count must be an integer >= 0, but element ${i} is ${v}`;
    }
  }
  return null;
}

/**
 * Checks the values of state-dict entries before a model uses them: every float tensor must
 * be finite (no NaN or infinity), every `running_var` >= 0 and every `num_batches_tracked`
 * an integer >= 0. With `onProblem: 'error'` (the default) it throws an
 * `InvalidStateDictError` naming the file and every invalid tensor; with 'warn' it reports
 * the same message through `warn`. Returns the problems found (empty when all is well).
 *
 * @example
 * checkStateDict(await readCheckpointEntries('model.pth'), { file: 'model.pth' });
 */
export function checkStateDict(entries: readonly Pick<SafetensorsEntry, 'name' | 'dtype' | 'data'>[], opts: CheckStateDictOptions = {}): StateDictProblem[] {
  const problems: StateDictProblem[] = [];
  for (const e of entries) {
    const what = problemOf(e);
    if (what !== null) problems.push({ tensor: e.name, what });
  }
  if (problems.length === 0) return problems;
  const file = opts.file ?? '<state dict>';
  const lines = problems.map((p) => `  tensor '${truncate(p.tensor)}': ${p.what}`);
  const head = `${file}: ${problems.length} tensor${problems.length === 1 ? '' : 's'} with invalid values`;
  if ((opts.onProblem ?? 'error') === 'error') {
    throw new InvalidStateDictError(`${head} (refusing to use the model; onProblem: 'warn' loads it anyway):\n${lines.join('\n')}`, problems);
  }
  (opts.warn ?? ((m: string) => console.warn(m)))(`warning: ${head} (loaded anyway):\n${lines.join('\n')}`);
  return problems;
}

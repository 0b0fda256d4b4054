// The playground's run settings, checked the same way whether they come from the query string
// (?rows=N&epochs=E&batch=B) or the form: positive integers only, and enough rows for a
// validation and a test split, so no untrained model is ever offered for download. No DOM
// here, so the checks are tested without a browser.

/**
 * A positive integer read from text (a query parameter or a form field), or an error naming
 * the setting: `''`, `0`, `1.5`, `-3` and `abc` are refused.
 *
 * @example
 * positiveInteger('?epochs', '3'); // 3
 * positiveInteger('epochs', '0');  // throws "epochs: expected a positive integer, got '0'"
 */
export function positiveInteger(name: string, text: string): number {
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name}: expected a positive integer, got '${text}'`);
  return n;
}

/** A run's size: synthetic training rows, epochs and batch size. */
export interface RunSettings {
  rows: number;
  epochs: number;
  batchSize: number;
}

/**
 * The form's (or the query's) settings, checked: each a positive integer, and rows enough that
 * the validation and test splits (a sixth of the rows each, rounded) are not empty.
 */
export function runSettings(fields: { rows: string; epochs: string; batch: string }, prefix = ''): RunSettings {
  const rows = positiveInteger(`${prefix}rows`, fields.rows);
  const epochs = positiveInteger(`${prefix}epochs`, fields.epochs);
  const batchSize = positiveInteger(`${prefix}batch`, fields.batch);
  if (Math.round(rows / 6) < 1) throw new Error(`${prefix}rows: ${rows} rows leave the validation and test splits (a sixth each) empty; give at least 3`);
  return { rows, epochs, batchSize };
}

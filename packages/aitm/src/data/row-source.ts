// What the trainer and the evaluator need of data larger than memory, as types only: no host
// API, so the package's main entry (browsers included) can name them; data/stream.ts (Node)
// makes them from CSV files.

import type { Dataset } from './batch.js';
import type { DataSchema } from './schema.js';

/**
 * Rows that can be read again and again, whole or a block at a time, without being held:
 * an in-memory dataset (`memorySource`) or a CSV file (`csvSource`).
 */
export interface RowSource {
  /** The columns of every block. */
  readonly schema: DataSchema;
  /** Rows over all blocks. */
  readonly n: number;
  /** How many blocks there are; `block(i)` reads one (in any order). */
  readonly blocks: number;
  /** Block `i`'s rows (0 <= i < blocks), in file order. */
  block(i: number): Promise<Dataset>;
  /** Where the rows come from, for messages ("train.csv", "train.csv (val split)"). */
  readonly name: string;
}

/** What a streamed epoch held: the most rows in memory at once (window + carried rows). */
export interface EpochStats {
  peakRows: number;
}

// The playground's form is checked as its query parameters are (playground/src/form.ts): 0
// epochs, an empty row count or too few rows for the splits never train an untrained model.

import { describe, expect, it } from 'vitest';
import { positiveInteger, runSettings } from '../playground/src/form.js';

describe('playground run settings', () => {
  it('the form refuses 0 epochs, an empty row count and too few rows, naming the field', () => {
    expect(() => runSettings({ rows: '100000', epochs: '0', batch: '2048' })).toThrow("epochs: expected a positive integer, got '0'");
    expect(() => runSettings({ rows: '', epochs: '3', batch: '2048' })).toThrow("rows: expected a positive integer, got ''");
    expect(() => runSettings({ rows: '2', epochs: '3', batch: '2048' })).toThrow('rows: 2 rows leave the validation and test splits (a sixth each) empty');
    expect(() => runSettings({ rows: '1000', epochs: '1.5', batch: '64' })).toThrow("epochs: expected a positive integer, got '1.5'");
    expect(runSettings({ rows: '100000', epochs: '3', batch: '2048' })).toEqual({ rows: 100000, epochs: 3, batchSize: 2048 });
  });

  it('query parameters go through the same check', () => {
    expect(() => runSettings({ rows: '1000', epochs: '-1', batch: '64' }, '?')).toThrow("?epochs: expected a positive integer, got '-1'");
    expect(positiveInteger('?vocab', '20')).toBe(20);
    expect(() => positiveInteger('?vocab', '0x10')).toThrow("?vocab: expected a positive integer, got '0x10'");
  });
});

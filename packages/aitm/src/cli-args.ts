// Argument checks of the `aitm` command line that are worth testing on their own.

/**
 * A numeric flag's value: plain decimal notation only. `Number('')` is 0 and
 * `Number('0x10')` is 16; a flag given as either is an error naming the flag.
 *
 * @example
 * parseNumber('lr', '0.01'); // 0.01
 * parseNumber('lr', '');     // throws "--lr: expected a number, got ''"
 */
export function parseNumber(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(v)) throw new Error(`--${flag}: expected a number, got '${v}'`);
  return Number(v);
}

/** Whether the arguments ask for the usage text (no command, help, --help or -h first). */
export function isHelp(argv: readonly string[]): boolean {
  return argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h';
}

// Helpers for reading untrusted checkpoint files (safetensors and torch.save archives):
// describing a hostile value in an error message without recursing or printing megabytes,
// arithmetic on declared sizes that cannot silently lose precision, and turning an
// unexpected internal error into one that names the file. Internal to @aitm/nn.

/** The deepest a value is printed in an error message; deeper parts print as `...`. */
const DESCRIBE_DEPTH = 3;
/** The longest description of a value in an error message, in characters. */
const DESCRIBE_LENGTH = 120;
/** The most elements of one array (or entries of one map) printed. */
const DESCRIBE_ITEMS = 8;

/**
 * A short, JSON-like description of any value an untrusted file produced, for an error
 * message: never recursing past a fixed depth (so a deeply nested value cannot overflow the
 * stack), printing a cycle as `<cycle>` (where JSON.stringify throws), and cut to a bounded
 * length (so a huge value cannot make a huge message).
 */
export function describeValue(value: unknown): string {
  const ancestors = new Set<unknown>();
  const go = (v: unknown, depth: number): string => {
    if (typeof v === 'string') return JSON.stringify(truncate(v));
    if (v === null || typeof v !== 'object') return typeof v === 'bigint' ? `${v}` : String(v);
    if (ancestors.has(v)) return '<cycle>';
    if (depth >= DESCRIBE_DEPTH) return Array.isArray(v) ? '[...]' : '{...}';
    ancestors.add(v);
    try {
      if (Array.isArray(v)) {
        const items = v.slice(0, DESCRIBE_ITEMS).map((x) => go(x, depth + 1));
        if (v.length > DESCRIBE_ITEMS) items.push(`... ${v.length} items`);
        return `[${items.join(', ')}]`;
      }
      if (v instanceof Map) {
        const items: string[] = [];
        for (const [k, x] of v) {
          if (items.length === DESCRIBE_ITEMS) break;
          items.push(`${go(k, depth + 1)}: ${go(x, depth + 1)}`);
        }
        if (v.size > DESCRIBE_ITEMS) items.push(`... ${v.size} entries`);
        return `{${items.join(', ')}}`;
      }
      return `<${v.constructor?.name ?? 'object'}>`;
    } finally {
      ancestors.delete(v);
    }
  };
  return truncate(go(value, 0));
}

/** `s`, cut to a bounded length for an error message (a name in a hostile file may be megabytes long). */
export function truncate(s: string): string {
  return s.length > DESCRIBE_LENGTH ? `${s.slice(0, DESCRIBE_LENGTH)}...` : s;
}

/** The product of `dims` (each a safe non-negative integer), or null when it is not a safe integer. */
export function checkedProduct(dims: readonly number[]): number | null {
  let n = 1;
  for (const d of dims) {
    if (d === 0) return 0;
  }
  for (const d of dims) {
    n *= d;
    if (!Number.isSafeInteger(n)) return null;
  }
  return n;
}

/** The message of anything thrown, with its class when it is a built-in error (`RangeError: ...`). */
export function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

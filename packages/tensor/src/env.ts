// The host's environment variables, read the same way in Node and in a browser (which has none).

/** An environment variable where the host has them (Node), undefined elsewhere (browsers). */
export function envVar(name: string): string | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
}

// The host: whether it is Node, and its environment variables, read the same way in Node and
// in a browser (which has none).

/** An environment variable where the host has them (Node), undefined elsewhere (browsers). */
export function envVar(name: string): string | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
}

/** Whether this host is Node (as opposed to a browser or a worker in one). */
export function isNode(): boolean {
  return typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
}

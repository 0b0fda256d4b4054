// What the pages put on window for the browser suite to read.
interface Window {
  parityResult?: { adapter: string; cases: number; failures: string[]; cpuFailures: string[]; wasmFailures: string[]; wasmRan: string[]; wasmThreads: number; ran: string[]; registered: string[] };
  parityError?: string;
  aitmResult?: { backend: string; adapter: string; testAuc: number[]; oracleAuc: number[]; samplesPerSecond: number };
  aitmError?: string;
}

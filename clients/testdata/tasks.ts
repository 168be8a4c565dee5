// Tasks the Python and Go clients' integration tests run in a real dist/qw.

export function add(a: number, b: number): number {
  return a + b;
}

export function square(n: number): number {
  return n * n;
}

export function sum(ns: number[]): number {
  return ns.reduce((a, b) => a + b, 0);
}

export function echo(...args: unknown[]): unknown[] {
  return args;
}

export function fail(message: string): never {
  throw new TypeError(message);
}

export async function slow(ms: number): Promise<string> {
  await new Promise((r) => setTimeout(r, ms));
  return "done";
}

// Bounding a promise by a deadline: every network call gets one, so a dependency that hangs
// turns into a fast, clear failure instead of a hung request.

export class TimeoutError extends Error {
  readonly code = 'timeout';
  constructor(readonly ms: number, what = 'operation') {
    super(`${what} did not answer within ${ms} ms`);
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what?: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(ms, what)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

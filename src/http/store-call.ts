// Calls into the database from a request: bounded by a deadline, and any failure becomes a 503
// `store_unavailable` whose cause is logged, never sent.
import { withTimeout } from '../infra/deadline.js';
import { ApiError } from './errors.js';

export async function storeCall<T>(call: () => Promise<T>, timeoutMs = 5_000): Promise<T> {
  try {
    return await withTimeout(call(), timeoutMs, 'database');
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError('store_unavailable', 'the database is unavailable; retry later', undefined, { cause: error });
  }
}


// The one mapping of store failures to HTTP: data errors 422, an unreachable or slow store 503,
// anything else 500; an ApiError raised inside the call passes through; 1 s deadline.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/http/errors.js';
import { classifyStoreFailure, storeCall, storeError, STORE_TIMEOUT_MS } from '../../src/app/store-call.js';
import { TimeoutError } from '../../src/infra/deadline.js';
import { JsonValueError } from '../../src/infra/db/json-text.js';

const pg = (code: string, severity = 'ERROR') => Object.assign(new Error('server said no'), { name: 'PostgresError', code, severity });

describe('store failures', () => {
  it('maps SQLSTATE class 22 and unserializable JSON to 422 validation_failed', () => {
    for (const error of [pg('22P05'), pg('22021'), pg('22P02'), pg('22001'), new JsonValueError('not_serializable')]) {
      expect(classifyStoreFailure(error)).toBe('data');
      const api = storeError(error);
      expect(api.status).toBe(422);
      expect(api.code).toBe('validation_failed');
    }
    expect(storeError(pg('22P05')).details).toEqual([{ field: '(body)', message: 'the database refused a value of this request', sqlState: '22P05' }]);
  });

  it('maps connection failures and timeouts to 503 store_unavailable', () => {
    const unavailable = [
      new TimeoutError(1000, 'database'),
      pg('08006'),
      pg('57P01', 'FATAL'),
      pg('55000', 'FATAL'),
      pg('3D000', 'FATAL'),
      pg('53300'),
      pg('40P01'),
      Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' }),
      Object.assign(new Error('connect'), { code: 'CONNECT_TIMEOUT' }),
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', errno: -111 }),
      Object.assign(new Error('redis'), { code: 'redis_unavailable' }),
      Object.assign(new Error('db'), { code: 'database_unavailable' }),
      new Error('Connection is closed.'),
      Object.assign(new Error('Reached the max retries per request limit'), { name: 'MaxRetriesPerRequestError' }),
    ];
    for (const error of unavailable) {
      expect(classifyStoreFailure(error), String(error)).toBe('unavailable');
      expect(storeError(error).status).toBe(503);
    }
  });

  it('maps everything else to 500 internal_error (a bug, logged), and passes ApiErrors through', () => {
    for (const error of [pg('42601'), pg('23505'), new TypeError('x is undefined'), 'a string', null]) {
      expect(storeError(error).status, String(error)).toBe(500);
    }
    const conflict = new ApiError('conflict', 'already running');
    expect(storeError(conflict)).toBe(conflict);
  });

  it('fails a call that does not answer after one second, and a call that throws synchronously like one that rejects', async () => {
    expect(STORE_TIMEOUT_MS).toBe(1_000);
    const started = performance.now();
    await expect(storeCall(() => new Promise(() => {}), 50)).rejects.toMatchObject({ code: 'store_unavailable' });
    expect(performance.now() - started).toBeLessThan(500);
    await expect(
      storeCall(() => {
        throw pg('22P02');
      }),
    ).rejects.toMatchObject({ code: 'validation_failed' });
  });
});

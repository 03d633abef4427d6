// No request waits more than about a second on a database that is down or hangs, and the service
// recovers by itself: real Postgres behind a TCP proxy that can stall (hold every byte) or refuse.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/infra/log.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { apiClient, type ApiClient } from '../support/api-client.js';
import { ADMIN_URL, createTestDatabase, eventually, tempDir, type TestDatabase } from '../support/services.js';

/** A TCP proxy to Postgres: `stall()` holds all traffic (a hung server), `refuse()` drops it and refuses. */
class StallingProxy {
  private server: Server | null = null;
  private pairs = new Set<{ client: Socket; upstream: Socket }>();
  private stalled = false;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async listen(port = 0): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      const pair = { client, upstream };
      this.pairs.add(pair);
      client.pipe(upstream);
      upstream.pipe(client);
      // After pipe(), which would resume them.
      if (this.stalled) (client.pause(), upstream.pause());
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.pairs.delete(pair);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server!.address() as { port: number }).port;
  }

  stall(): void {
    this.stalled = true;
    for (const { client, upstream } of this.pairs) (client.pause(), upstream.pause());
  }

  resume(): void {
    this.stalled = false;
    for (const { client, upstream } of this.pairs) (client.resume(), upstream.resume());
  }

  async refuse(): Promise<void> {
    for (const { client, upstream } of this.pairs) (client.destroy(), upstream.destroy());
    this.pairs.clear();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  async close(): Promise<void> {
    for (const { client, upstream } of this.pairs) (client.destroy(), upstream.destroy());
    await new Promise<void>((resolve) => (this.server?.listening ? this.server.close(() => resolve()) : resolve()));
  }
}

describe('store deadlines', () => {
  let db: TestDatabase;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let proxy: StallingProxy;
  let runtime: Runtime;
  let api: ApiClient;

  beforeAll(async () => {
    db = await createTestDatabase('deadline');
    dir = await tempDir('devteam-deadline');
    const admin = new URL(ADMIN_URL);
    proxy = new StallingProxy({ host: admin.hostname, port: Number(admin.port || 5432) });
    await proxy.listen();
    const url = new URL(db.url);
    url.port = String(proxy.port);
    runtime = await startRuntime(loadConfig({ PORT: '0', DATABASE_URL: url.href, DEVTEAM_DATA_DIR: dir.path }), { api: true, worker: false }, createLogger({ level: 'silent' }));
    api = apiClient(runtime.port!);
  });

  afterAll(async () => {
    proxy?.resume();
    await runtime?.stop();
    await proxy?.close();
    await db?.drop();
    await dir?.remove();
  });

  const event = (n: number) => ({ type: 'X', projectId: 'p', payload: { n } });
  const timed = async <T>(call: () => Promise<T>) => {
    const started = performance.now();
    const value = await call();
    return { value, ms: performance.now() - started };
  };

  it('answers 503 within about a second while the database hangs, then recovers by itself', async () => {
    expect((await api.post('/events', event(0))).status).toBe(202);
    proxy.stall();
    const [post, read, ready] = await Promise.all([timed(() => api.post('/events', event(1))), timed(() => api.get(`/events/${crypto.randomUUID()}`)), timed(() => api.get('/readyz'))]);
    expect(post.value.status).toBe(503);
    expect(post.value.body.error.code).toBe('store_unavailable');
    expect(read.value.status).toBe(503);
    expect(ready.value.status).toBe(503);
    for (const call of [post, read, ready]) expect(call.ms).toBeLessThan(1_500);

    proxy.resume();
    const recovered = await eventually(async () => {
      const r = await api.post('/events', event(2));
      return r.status === 202 ? r : undefined;
    }, 10_000, 'a 202 after the database answers again');
    // The queries held during the stall did not shift the replies: this one reads its own row.
    expect((await api.get(`/events/${recovered.body.eventId}`)).body.payload).toEqual({ n: 2 });
    expect((await api.get('/readyz')).status).toBe(200);
  });

  it('answers 503 within about a second while connections are refused, then recovers by itself', async () => {
    const port = proxy.port;
    await proxy.refuse();
    const post = await timed(() => api.post('/events', event(3)));
    expect(post.value.status).toBe(503);
    expect(post.ms).toBeLessThan(1_500);
    await proxy.listen(port);
    const recovered = await eventually(async () => {
      const r = await api.post('/events', event(4));
      return r.status === 202 ? r : undefined;
    }, 10_000, 'a 202 after the database accepts again');
    expect((await api.get(`/events/${recovered.body.eventId}`)).body.payload).toEqual({ n: 4 });
  });
});

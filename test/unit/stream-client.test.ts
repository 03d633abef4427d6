import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import type { Frame } from '../../src/client/frames.js';
import { StreamClient, streamUrl, type StreamState, type StreamStatusInfo } from '../../src/client/stream-client.js';
import { formatFrame } from '../../src/client/watch-format.js';
import { executionUpdate } from '../../src/client/frames.js';
import { runWatch } from '../../src/cli-watch.js';

interface Conn {
  socket: ServerSocket;
  req: IncomingMessage;
  messages: unknown[];
  /** Resolves when the n-th message of this connection arrived. */
  waitMessages(n: number): Promise<unknown[]>;
}

/** A real ws server on 127.0.0.1:0 that the test scripts connection by connection. */
async function scriptedServer(onConnection: (conn: Conn, index: number) => void | Promise<void>) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws/devteam', handleProtocols: (protocols) => (protocols.has('devteam') ? 'devteam' : false) });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const conns: Conn[] = [];
  wss.on('connection', (socket, req) => {
    const messages: unknown[] = [];
    const waiters: Array<{ n: number; resolve: (m: unknown[]) => void }> = [];
    socket.on('message', (data) => {
      messages.push(JSON.parse(String(data)));
      for (const w of waiters.splice(0)) if (messages.length >= w.n) w.resolve(messages);
      else waiters.push(w);
    });
    const conn: Conn = {
      socket,
      req,
      messages,
      waitMessages: (n) => (messages.length >= n ? Promise.resolve(messages) : new Promise((resolve) => waiters.push({ n, resolve }))),
    };
    conns.push(conn);
    send(socket, { type: 'hello', seq: 0, projectId: '', payload: { server: 'test' } });
    void onConnection(conn, conns.length - 1);
  });
  const port = (wss.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    conns,
    close: () => new Promise<void>((resolve) => {
      for (const c of wss.clients) c.terminate();
      wss.close(() => resolve());
    }),
  };
}

let tsCounter = Date.UTC(2024, 0, 2, 12, 0, 0);
function send(socket: ServerSocket, frame: Partial<Frame> & { type: string }) {
  socket.send(JSON.stringify({ ts: tsCounter++, executionId: null, payload: {}, ...frame }));
}
function ev(projectId: string, seq: number, type: Frame['type'] = 'execution-log'): Partial<Frame> & { type: string } {
  return { type, projectId, seq, payload: { n: `${projectId}${seq}` } };
}

async function until(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function recorder() {
  const frames: Frame[] = [];
  const statuses: Array<[StreamState, StreamStatusInfo]> = [];
  const errors: Error[] = [];
  return {
    frames,
    statuses,
    errors,
    project: () => frames.filter((f) => f.type !== 'hello').map((f) => `${f.projectId}${f.seq}`),
    handlers: {
      onFrame: (f: Frame) => frames.push(f),
      onStatus: (s: StreamState, i: StreamStatusInfo) => statuses.push([s, i]),
      onError: (e: Error) => errors.push(e),
    },
  };
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('StreamClient', () => {
  it('builds the stream URL from an http(s) or ws(s) base', () => {
    expect(streamUrl('http://127.0.0.1:8080')).toBe('ws://127.0.0.1:8080/ws/devteam');
    expect(streamUrl('https://example.com/base/')).toBe('wss://example.com/base/ws/devteam');
    expect(streamUrl('ws://h:1/ws/devteam', [['token', 'k']])).toBe('ws://h:1/ws/devteam?token=k');
  });

  it('subscribes after open, delivers frames in order and drops duplicates; the bearer header reaches the server', async () => {
    const server = await scriptedServer(async (conn) => {
      await conn.waitMessages(1);
      for (const seq of [1, 2, 2, 1, 3]) send(conn.socket, ev('a', seq));
      send(conn.socket, ev('a', 3, 'execution-update'));
      send(conn.socket, ev('a', 4, 'execution-update'));
    });
    cleanups.push(server.close);
    const r = recorder();
    const client = new StreamClient({ url: server.url, token: 'k1', projects: ['a'], WebSocket, ...r.handlers });
    cleanups.push(() => client.close());
    await until(() => r.frames.length >= 5);
    await sleep(30);
    expect(r.frames[0]?.type).toBe('hello');
    expect(r.project()).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(client.lastSeq('a')).toBe(4);
    expect(server.conns[0]?.req.headers.authorization).toBe('Bearer k1');
    expect(server.conns[0]?.req.url).toBe('/ws/devteam');
    expect(server.conns[0]?.messages).toEqual([{ type: 'subscribe', projectId: 'a' }]);
    expect(r.statuses.map(([s]) => s)).toEqual(['connecting', 'open']);
  });

  it('uses the devteam/bearer subprotocol when the constructor takes no options (browser form)', async () => {
    const server = await scriptedServer(() => {});
    cleanups.push(server.close);
    class BrowserLike extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
      }
    }
    const r = recorder();
    const client = new StreamClient({ url: server.url, token: 'k2', projects: ['a'], WebSocket: BrowserLike, ...r.handlers });
    cleanups.push(() => client.close());
    await until(() => server.conns[0]?.messages.length === 1);
    // `ws` joins with ',', browsers with ', ': the server must split on ',' and trim.
    expect(server.conns[0]?.req.headers['sec-websocket-protocol']?.split(',').map((p) => p.trim())).toEqual(['devteam', 'bearer.k2']);
    expect(server.conns[0]?.req.headers.authorization).toBeUndefined();
  });

  it('reconnects after a drop, re-subscribes every project with its last seq, and each frame is seen exactly once in order', async () => {
    const server = await scriptedServer(async (conn, index) => {
      await conn.waitMessages(2);
      if (index === 0) {
        send(conn.socket, ev('a', 1));
        send(conn.socket, ev('a', 2));
        send(conn.socket, ev('b', 1));
        await sleep(30);
        conn.socket.terminate();
      } else {
        // Resume: replay from the server's buffer (with an overlap), then live.
        send(conn.socket, ev('a', 2));
        send(conn.socket, ev('a', 3));
        send(conn.socket, ev('b', 1));
        send(conn.socket, ev('b', 2));
        send(conn.socket, ev('a', 4));
      }
    });
    cleanups.push(server.close);
    const r = recorder();
    const client = new StreamClient({ url: server.url, projects: ['a', 'b'], WebSocket, backoff: { stepMs: 20, maxMs: 100 }, ...r.handlers });
    cleanups.push(() => client.close());
    await until(() => client.lastSeq('a') === 4 && client.lastSeq('b') === 2);
    await sleep(30);
    expect(server.conns).toHaveLength(2);
    expect(server.conns[0]?.messages).toEqual([
      { type: 'subscribe', projectId: 'a' },
      { type: 'subscribe', projectId: 'b' },
    ]);
    expect(server.conns[1]?.messages).toEqual([
      { type: 'subscribe', projectId: 'a', lastSeq: 2 },
      { type: 'subscribe', projectId: 'b', lastSeq: 1 },
    ]);
    expect(r.project()).toEqual(['a1', 'a2', 'b1', 'a3', 'b2', 'a4']);
    expect(r.frames.filter((f) => f.type === 'hello')).toHaveLength(2);
    const reconnecting = r.statuses.filter(([s]) => s === 'reconnecting');
    expect(reconnecting).toHaveLength(1);
    expect(reconnecting[0]?.[1]).toMatchObject({ attempt: 1, delayMs: 20, code: 1006 });
  });

  it('resync sets lastSeq to its seq and is passed on; later frames continue from there', async () => {
    const server = await scriptedServer(async (conn) => {
      await conn.waitMessages(1);
      send(conn.socket, { type: 'resync', projectId: 'a', seq: 40, payload: {} });
      send(conn.socket, ev('a', 40));
      send(conn.socket, ev('a', 41));
    });
    cleanups.push(server.close);
    const r = recorder();
    const client = new StreamClient({ url: server.url, projects: ['a'], lastSeq: { a: 5 }, WebSocket, ...r.handlers });
    cleanups.push(() => client.close());
    await until(() => client.lastSeq('a') === 41);
    expect(server.conns[0]?.messages).toEqual([{ type: 'subscribe', projectId: 'a', lastSeq: 5 }]);
    expect(r.frames.filter((f) => f.type !== 'hello').map((f) => `${f.type}:${f.seq}`)).toEqual(['resync:40', 'execution-log:41']);
  });

  it('backoff between failed attempts is linear and capped', async () => {
    const attempts: number[] = [];
    const http: Server = createServer();
    http.on('upgrade', (_req, socket) => {
      attempts.push(performance.now());
      // The client may reset the connection while the refusal is written.
      socket.on('error', () => {});
      socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n');
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise((resolve) => http.close(resolve)));
    const r = recorder();
    const client = new StreamClient({
      url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
      projects: ['a'],
      WebSocket,
      backoff: { stepMs: 25, maxMs: 60 },
      ...r.handlers,
    });
    cleanups.push(() => client.close());
    await until(() => attempts.length >= 5, 5000);
    client.close();
    const delays = r.statuses.filter(([s]) => s === 'reconnecting').map(([, i]) => i.delayMs);
    expect(delays.slice(0, 4)).toEqual([25, 50, 60, 60]);
    // Each attempt waited at least its delay (timers may fire a little late, never much early).
    for (let i = 1; i < 5; i++) expect(attempts[i]! - attempts[i - 1]!).toBeGreaterThanOrEqual(delays[i - 1]! - 5);
    expect(r.frames).toEqual([]);
    expect(r.errors.length).toBeGreaterThan(0);
    expect(r.statuses.at(-1)).toEqual(['closed', { requested: true }]);
  });

  it('close code 1008 stops reconnecting and is reported', async () => {
    const server = await scriptedServer(async (conn) => {
      await conn.waitMessages(1);
      conn.socket.close(1008, 'unknown project');
    });
    cleanups.push(server.close);
    const r = recorder();
    const client = new StreamClient({ url: server.url, projects: ['nope'], WebSocket, backoff: { stepMs: 5, maxMs: 5 }, ...r.handlers });
    cleanups.push(() => client.close());
    await until(() => r.statuses.some(([s]) => s === 'closed'));
    await sleep(100);
    expect(server.conns).toHaveLength(1);
    expect(r.statuses.at(-1)).toEqual(['closed', { code: 1008, reason: 'unknown project', fatal: true }]);
    expect(r.statuses.some(([s]) => s === 'reconnecting')).toBe(false);
  });

  it('ignores invalid frames and reports them; never throws', async () => {
    const server = await scriptedServer(async (conn) => {
      await conn.waitMessages(1);
      conn.socket.send('not json');
      conn.socket.send(JSON.stringify({ type: 'bogus', ts: 1, projectId: 'a', seq: 1, payload: {} }));
      conn.socket.send(JSON.stringify({ type: 'execution-log', ts: 1, projectId: 'a', payload: {} }));
      conn.socket.send(JSON.stringify({ type: 'execution-log', ts: 1, projectId: 'a', seq: -1, payload: {} }));
      conn.socket.send(Buffer.from([1, 2, 3]), { binary: true });
      send(conn.socket, ev('a', 1));
    });
    cleanups.push(server.close);
    const r = recorder();
    const client = new StreamClient({
      url: server.url,
      projects: ['a'],
      WebSocket,
      ...r.handlers,
      onFrame: (f) => {
        r.frames.push(f);
        if (f.type !== 'hello') throw new Error('caller bug');
      },
    });
    cleanups.push(() => client.close());
    await until(() => client.lastSeq('a') === 1);
    await sleep(20);
    expect(r.project()).toEqual(['a1']);
    expect(r.errors.map((e) => e.message.slice(0, 20))).toEqual([
      'invalid frame: not J',
      'invalid frame: type:',
      'invalid frame: seq: ',
      'invalid frame: seq: ',
      'invalid frame: not J',
      'caller bug',
    ]);
    expect(r.statuses.map(([s]) => s)).toEqual(['connecting', 'open']);
  });

  it('subscribe / unsubscribe send messages; frames of unwatched projects are dropped', async () => {
    const server = await scriptedServer(() => {});
    cleanups.push(server.close);
    const r = recorder();
    const client = new StreamClient({ url: server.url, projects: ['a'], WebSocket, ...r.handlers });
    cleanups.push(() => client.close());
    await until(() => server.conns[0]?.messages.length === 1);
    client.subscribe('b');
    client.unsubscribe('a');
    const conn = server.conns[0]!;
    await conn.waitMessages(3);
    expect(conn.messages).toEqual([
      { type: 'subscribe', projectId: 'a' },
      { type: 'subscribe', projectId: 'b' },
      { type: 'unsubscribe', projectId: 'a' },
    ]);
    send(conn.socket, ev('a', 7));
    send(conn.socket, ev('b', 1));
    await until(() => client.lastSeq('b') === 1);
    expect(r.project()).toEqual(['b1']);
    expect(client.projects).toEqual(['b']);
  });
});

describe('formatFrame', () => {
  const ts = new Date(2024, 0, 2, 12, 3, 4).getTime(); // local time
  const update = {
    executionId: 'e1',
    status: 'running',
    phase: 'implement',
    task: { id: '1.2', title: 'Title' },
    attempt: 2,
    progress: { done: 3, total: 12 },
    lastError: null,
  };

  it('execution-update → status line', () => {
    expect(formatFrame({ type: 'execution-update', ts, projectId: 'acme-web', seq: 5, executionId: 'e1', payload: { ...update, maxAttempts: 3 } })).toBe(
      '[12:03:04] acme-web  running  implement  task 1.2 "Title"  attempt 2/3  3/12 done',
    );
    expect(formatFrame({ type: 'execution-update', ts, projectId: 'acme-web', seq: 6, executionId: 'e1', payload: { ...update, status: 'failed', lastError: 'verify failed' } })).toBe(
      '[12:03:04] acme-web  failed  implement  task 1.2 "Title"  attempt 2  3/12 done  error: verify failed',
    );
    expect(formatFrame({ type: 'execution-update', ts, projectId: 'p', seq: 1, executionId: 'e1', payload: { ...update, phase: null, task: null, attempt: 0 } })).toBe(
      '[12:03:04] p  running  3/12 done',
    );
  });

  it('execution-update of an execution that skipped tasks already merged says how many', () => {
    expect(formatFrame({ type: 'execution-update', ts, projectId: 'p', seq: 7, executionId: 'e1', payload: { ...update, skipped: 2 } })).toBe(
      '[12:03:04] p  running  implement  task 1.2 "Title"  attempt 2  3/12 done (2 skipped)',
    );
    const projection = { status: 'running' as const, phase: null, currentTask: null, attempt: 0, progress: { done: 2, total: 3 }, lastError: null };
    const results = { '1.1': { status: 'skipped' }, '1.2': { status: 'done' }, '1.3': { status: 'skipped' } };
    expect(executionUpdate('e1', { ...projection, results })).toMatchObject({ progress: { done: 2, total: 3 }, skipped: 2 });
    // Frames of executions that skipped nothing are as before.
    expect(executionUpdate('e1', { ...projection, results: { '1.2': { status: 'done' } } })).not.toHaveProperty('skipped');
  });

  it('execution-update of a failed task carries its reason, from the live projection or the stored results', () => {
    const projection = { status: 'failed' as const, phase: null, currentTask: null, attempt: 2, progress: { done: 0, total: 1 }, lastError: 'task 1.1: same error' };
    expect(executionUpdate('e1', { ...projection, reason: 'same_error_repeated' })).toMatchObject({ reason: 'same_error_repeated' });
    // The stored status row has no reason column: the failed task's result carries it.
    expect(executionUpdate('e1', { ...projection, results: { '1.1': { status: 'failed', reason: 'secret_in_diff' } } })).toMatchObject({ reason: 'secret_in_diff' });
    expect(executionUpdate('e1', { ...projection, status: 'running', lastError: null, reason: null })).not.toHaveProperty('reason');
    expect(formatFrame({ type: 'execution-update', ts, projectId: 'p', seq: 8, executionId: 'e1', payload: { ...update, status: 'failed', lastError: 'verify failed', reason: 'verify_failed' } })).toBe(
      '[12:03:04] p  failed  implement  task 1.2 "Title"  attempt 2  3/12 done  error: verify failed (verify_failed)',
    );
  });

  it('resync → status line marked (resync)', () => {
    expect(formatFrame({ type: 'resync', ts, projectId: 'acme-web', seq: 90, executionId: 'e1', payload: { ...update, status: 'completed', phase: null, task: null, attempt: 0, progress: { done: 12, total: 12 } } })).toBe(
      '[12:03:04] acme-web  completed  12/12 done  (resync)',
    );
    expect(formatFrame({ type: 'resync', ts, projectId: 'fresh', seq: 0, executionId: null, payload: null })).toBe('[12:03:04] fresh  not initialized yet  (resync)');
  });

  it('execution-log → prefixed lines, stderr marked', () => {
    const payload = {
      executionId: 'e1',
      source: 'verify',
      taskId: '1.2',
      attempt: 2,
      lines: [
        { stream: 'stdout', text: 'npm test' },
        { stream: 'stderr', text: 'FAIL x.test.ts' },
      ],
    };
    expect(formatFrame({ type: 'execution-log', ts, projectId: 'acme-web', seq: 7, executionId: 'e1', payload })).toBe(
      '  verify 1.2#2 │ npm test\n  verify 1.2#2 │ [stderr] FAIL x.test.ts',
    );
    expect(formatFrame({ type: 'execution-log', ts, projectId: 'acme-web', seq: 8, executionId: 'e1', payload: { ...payload, source: 'agent', taskId: null, lines: [{ stream: 'stdout', text: 'hi' }] } })).toBe(
      '  agent │ hi',
    );
    expect(formatFrame({ type: 'execution-log', ts, projectId: 'acme-web', seq: 9, executionId: 'e1', payload: { ...payload, lines: [] } })).toBeNull();
  });

  it('hello and error are readable', () => {
    expect(formatFrame({ type: 'hello', ts, projectId: '', seq: 0, executionId: null, payload: { version: '0.1.0' } })).toBe('[12:03:04] connected  {"version":"0.1.0"}');
    expect(formatFrame({ type: 'hello', ts, projectId: '', seq: 0, executionId: null, payload: {} })).toBe('[12:03:04] connected');
    expect(formatFrame({ type: 'error', ts, projectId: 'acme-web', seq: 0, executionId: null, payload: { code: 'not_found', message: 'no such project' } })).toBe(
      '[12:03:04] acme-web  error [not_found]: no such project',
    );
    expect(formatFrame({ type: 'error', ts, projectId: '', seq: 0, executionId: null, payload: 'boom' })).toBe('[12:03:04] error: "boom"');
  });
});

describe('runWatch', () => {
  const status = (s: string) => ({ executionId: 'e1', status: s, phase: null, task: null, attempt: 0, progress: { done: 1, total: 2 }, lastError: null });

  it('starts at the present: subscribes without lastSeq, prints the resync and live frames, resolves 0 at a final status', async () => {
    const server = await scriptedServer(async (conn) => {
      await conn.waitMessages(1);
      send(conn.socket, { type: 'resync', projectId: 'p', seq: 4, executionId: 'e1', payload: status('running') });
      send(conn.socket, { type: 'execution-update', projectId: 'p', seq: 5, executionId: 'e1', payload: status('completed') });
    });
    cleanups.push(server.close);
    const out: string[] = [];
    const code = await runWatch('p', { url: server.url, token: 't', json: true, out: (t) => out.push(t), err: () => {} });
    expect(code).toBe(0);
    // No lastSeq: the history (earlier executions included) is not asked for; the resync is the present.
    expect(server.conns[0]?.messages).toEqual([{ type: 'subscribe', projectId: 'p' }]);
    expect(out.map((l) => JSON.parse(l).seq)).toEqual([0, 4, 5]);
  });

  it('follows a re-initialize: a frame of a new execution is announced and followed, the old one is skipped and its final status does not end it', async () => {
    const server = await scriptedServer(async (conn) => {
      await conn.waitMessages(1);
      send(conn.socket, { type: 'resync', projectId: 'p', seq: 4, executionId: 'e1', payload: status('running') });
      send(conn.socket, { type: 'execution-update', projectId: 'p', seq: 5, executionId: 'e2', payload: { ...status('running'), executionId: 'e2' } });
      send(conn.socket, { type: 'execution-update', projectId: 'p', seq: 6, executionId: 'e1', payload: status('failed') });
      send(conn.socket, { type: 'execution-update', projectId: 'p', seq: 7, executionId: 'e2', payload: { ...status('completed'), executionId: 'e2' } });
    });
    cleanups.push(server.close);
    const out: string[] = [];
    const err: string[] = [];
    const code = await runWatch('p', { url: server.url, out: (t) => out.push(t), err: (t) => err.push(t) });
    expect(code).toBe(0);
    expect(err.join('')).toBe('devteam watch: p was initialized again: following the new execution e2\n');
    const lines = out.join('').trim().split('\n');
    expect(lines.filter((l) => !l.includes('connected')).map((l) => l.split('  ')[1])).toEqual(['running', 'running', 'completed']);
    expect(out.join('')).not.toContain('failed');
  });

  it('waits for a project that is not initialized yet (one line), then follows its first execution', async () => {
    const server = await scriptedServer(async (conn) => {
      await conn.waitMessages(1);
      send(conn.socket, { type: 'resync', projectId: 'p', seq: 0, executionId: null, payload: null });
      send(conn.socket, { type: 'execution-update', projectId: 'p', seq: 1, executionId: 'e1', payload: status('running') });
      send(conn.socket, { type: 'execution-update', projectId: 'p', seq: 2, executionId: 'e1', payload: status('completed') });
    });
    cleanups.push(server.close);
    const out: string[] = [];
    const err: string[] = [];
    const code = await runWatch('p', { url: server.url, out: (t) => out.push(t), err: (t) => err.push(t) });
    expect(code).toBe(0);
    expect(err).toEqual(['devteam watch: p is not initialized yet; waiting for its first run\n', 'devteam watch: p started: following execution e1\n']);
    expect(out.join('')).toMatch(/p {2}running[^\n]*\n[^\n]*p {2}completed/);
  });

  it('resolves 2 with a message on close code 1008', async () => {
    const server = await scriptedServer((conn) => conn.socket.close(1008, 'forbidden'));
    cleanups.push(server.close);
    const err: string[] = [];
    const code = await runWatch('p', { url: server.url, out: () => {}, err: (t) => err.push(t) });
    expect(code).toBe(2);
    expect(err.join('')).toContain('1008: forbidden');
  });
});

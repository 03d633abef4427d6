// The live stream with real processes: an API and a worker on Postgres + Redis, a real run of the
// scripted agent. A client whose connection drops mid-run reconnects and gets every frame exactly
// once, in order (the same frames as a client that never dropped); a paused (slow) client does not
// hold the others back; oversize and malformed messages, unknown keys and other tenants' projects
// are refused with the right close codes.
import { createServer, Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { StreamClient, type Frame } from '../../src/client/index.js';
import { agentProjectBody, createAgentRemote } from '../support/agent-remote.js';
import { startService, type CliProcess } from '../support/cli-process.js';
import { createTestDatabase, dropRedisPrefix, eventually, REDIS_URL, tempDir, uniquePrefix, type TestDatabase } from '../support/services.js';

const ACME = 'acme-key-0123456789abcdef';
const BETA = 'beta-key-0123456789abcdef';
const FINAL = ['completed', 'failed', 'stopped'];

describe('/ws/devteam with an API and a worker process', () => {
  let db: TestDatabase;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let apiPort: number;
  const prefix = uniquePrefix('stream');
  const procs: CliProcess[] = [];
  const closers: Array<() => void> = [];

  beforeAll(async () => {
    db = await createTestDatabase('stream');
    dir = await tempDir('devteam-stream');
    const env = (name: string) => ({
      DATABASE_URL: db.url,
      REDIS_URL,
      DEVTEAM_REDIS_PREFIX: prefix,
      DEVTEAM_DATA_DIR: join(dir.path, name),
      DEVTEAM_FILE_REMOTE_ROOTS: dir.path,
      DEVTEAM_API_KEYS: `acme:${ACME},beta:${BETA}`,
      DEVTEAM_RECONCILE_MS: '200',
    });
    const api = await startService(['api'], env('api'));
    procs.push(api.proc);
    apiPort = api.port!;
    procs.push((await startService(['worker'], env('worker'))).proc);
  }, 60_000);

  afterAll(async () => {
    for (const c of closers) c();
    for (const p of procs) await p.stop();
    await db?.drop();
    await dir?.remove();
    await dropRedisPrefix(prefix);
  }, 60_000);

  async function initialize(projectId: string, title: string): Promise<void> {
    const remote = await createAgentRemote(dir.path, projectId, [{ id: '1.1', title }]);
    const res = await fetch(`http://127.0.0.1:${apiPort}/api/devteam/automation/initialize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ACME}` },
      body: JSON.stringify(agentProjectBody(projectId, `file://${remote.bare}`)),
    });
    expect(res.status).toBe(202);
  }

  /** A plain client that never drops: subscribes from `lastSeq` (default 0; null: the present, no lastSeq) and records every frame. */
  function reference(projectId: string, key = ACME, lastSeq: number | null = 0): { frames: Frame[]; socket: WebSocket; closed: Promise<number>; done: Promise<void> } {
    const frames: Frame[] = [];
    const socket = new WebSocket(`ws://127.0.0.1:${apiPort}/ws/devteam`, { headers: { authorization: `Bearer ${key}` } });
    closers.push(() => socket.terminate());
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    socket.on('open', () => socket.send(JSON.stringify({ type: 'subscribe', projectId, lastSeq: lastSeq ?? undefined })));
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      if (frame.projectId !== projectId) return;
      frames.push(frame);
      if (frame.type === 'execution-update' && FINAL.includes((frame.payload as { status: string }).status)) finish();
    });
    const closed = new Promise<number>((r) => socket.on('close', (code) => r(code)));
    return { frames, socket, closed, done };
  }

  /** A TCP proxy to the API whose connections the test can cut. */
  async function proxy(): Promise<{ port: number; cut(): number }> {
    const sockets = new Set<Socket>();
    const server = createServer((inbound) => {
      const outbound = new Socket();
      outbound.connect(apiPort, '127.0.0.1');
      inbound.pipe(outbound).pipe(inbound);
      for (const s of [inbound, outbound]) {
        sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => sockets.delete(s));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => server.close());
    return {
      port: (server.address() as { port: number }).port,
      cut() {
        const n = sockets.size;
        for (const s of sockets) s.destroy();
        return n;
      },
    };
  }

  it('gives a client that reconnects mid-run every frame exactly once, in order, like one that never dropped', async () => {
    await initialize('live', 'slow 3');
    const ref = reference('live');
    // A paused reader: it never reads, so its frames pile up on the server side only.
    const stalled = new WebSocket(`ws://127.0.0.1:${apiPort}/ws/devteam?projectId=live&lastSeq=0`, { headers: { authorization: `Bearer ${ACME}` } });
    closers.push(() => stalled.terminate());
    stalled.on('open', () => (stalled as unknown as { _socket: Socket })._socket.pause());

    const link = await proxy();
    const received: Frame[] = [];
    let reconnects = 0;
    let finished!: () => void;
    const done = new Promise<void>((r) => (finished = r));
    const client = new StreamClient({
      url: `http://127.0.0.1:${link.port}`,
      token: ACME,
      projects: ['live'],
      lastSeq: { live: 0 },
      WebSocket: WebSocket as never,
      backoff: { stepMs: 100, maxMs: 500 },
      onFrame: (frame) => {
        if (frame.type === 'hello') return;
        received.push(frame);
        if (frame.type === 'execution-update' && FINAL.includes((frame.payload as { status: string }).status)) finished();
      },
      onStatus: (state) => {
        if (state === 'reconnecting') reconnects++;
      },
    });
    closers.push(() => client.close());

    // Cut the connection twice while the agent is printing.
    for (let cut = 0; cut < 2; cut++) {
      const before = received.length;
      await eventually(async () => (received.some((f) => f.type === 'execution-log') && received.length > before + 2 ? true : undefined), 30_000, 'frames to flow');
      expect(link.cut()).toBeGreaterThan(0);
    }
    await Promise.all([done, ref.done]);
    expect(reconnects).toBeGreaterThanOrEqual(2);

    const seqs = ref.frames.map((f) => f.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(ref.frames.some((f) => f.type === 'execution-log')).toBe(true);
    expect(received.map((f) => f.seq)).toEqual(seqs);
    expect(received.map((f) => JSON.stringify(f.payload))).toEqual(ref.frames.map((f) => JSON.stringify(f.payload)));
    // The agent's output arrived as batched log lines, in order.
    const ticks = ref.frames.flatMap((f) => (f.type === 'execution-log' ? (f.payload as { lines: Array<{ text: string }> }).lines.map((l) => l.text) : [])).filter((t) => t.startsWith('tick '));
    expect(ticks.length).toBeGreaterThan(10);
    expect(ticks).toEqual(ticks.map((_, i) => `tick ${i + 1}`));
  }, 90_000);

  it("closes with 1008 for an unknown key; another tenant's project is subscribed like an unused id and shows nothing of it", async () => {
    await initialize('private', 'write a file');
    const stranger = new WebSocket(`ws://127.0.0.1:${apiPort}/ws/devteam?projectId=private`, { headers: { authorization: 'Bearer not-a-key-0123456789abcdef' } });
    expect(await new Promise((r) => stranger.on('close', (code) => r(code)))).toBe(1008);
    // Beta has no project "private": it is subscribed, as to any id it has not used yet.
    const beta = reference('private', BETA, null);
    const unused = reference('never-used', BETA, null);
    await eventually(async () => (beta.frames.length > 0 && unused.frames.length > 0 ? true : undefined), 10_000, 'both subscriptions to answer');
    const strip = (frames: Frame[]) => frames.map((f) => ({ ...f, ts: 0, projectId: '<id>' }));
    expect(strip(beta.frames)).toEqual(strip(unused.frames));
    expect(beta.frames).toEqual([expect.objectContaining({ type: 'resync', seq: 0, executionId: null, payload: null })]);
    // Acme's run ends; a round trip on beta's socket (a malformed message, answered in order) shows nothing of it came before.
    const own = reference('private');
    await own.done;
    const answered = new Promise<void>((r) => beta.socket.on('message', (d) => JSON.parse(String(d)).type === 'error' && r()));
    beta.socket.send('{');
    await answered;
    expect(beta.frames).toHaveLength(1);
    expect(beta.socket.readyState).toBe(WebSocket.OPEN);
    const token = new WebSocket(`ws://127.0.0.1:${apiPort}/ws/devteam?projectId=private&token=${ACME}`);
    const first = await new Promise<Frame>((r) => token.once('message', (d) => r(JSON.parse(String(d)))));
    expect(first.type).toBe('hello');
    token.close();
  }, 30_000);

  it('gives a client that subscribed before initialize every frame of the run, from the first transition', async () => {
    const early = reference('dashboard', ACME, null);
    await eventually(async () => (early.frames.length > 0 ? true : undefined), 10_000, 'the subscription to answer');
    expect(early.frames).toEqual([expect.objectContaining({ type: 'resync', seq: 0, executionId: null, payload: null })]);
    await initialize('dashboard', 'write a file');
    await early.done;
    const run = early.frames.slice(1);
    expect(run.map((f) => f.seq)).toEqual(run.map((_, i) => i + 1));
    const executionId = (run[0]!.payload as { executionId: string }).executionId;
    expect(run.every((f) => f.executionId === executionId)).toBe(true);
    expect(run.at(-1)).toMatchObject({ type: 'execution-update', payload: { status: 'completed' } });
  }, 60_000);

  it('answers a malformed message with an error frame and closes with 1009 on an oversize one', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${apiPort}/ws/devteam`, { headers: { authorization: `Bearer ${ACME}` } });
    closers.push(() => socket.terminate());
    const frames: Frame[] = [];
    socket.on('message', (d) => frames.push(JSON.parse(String(d))));
    await new Promise((r) => socket.on('open', r));
    socket.send('{not json');
    const error = await eventually(async () => frames.find((f) => f.type === 'error'), 5_000, 'an error frame');
    expect(String((error.payload as { message: string }).message)).toMatch(/subscribe/);
    expect(socket.readyState).toBe(WebSocket.OPEN);
    const closed = new Promise<number>((r) => socket.on('close', (code) => r(code)));
    socket.send(JSON.stringify({ type: 'subscribe', projectId: 'x'.repeat(100), pad: 'y'.repeat(64 * 1024) }));
    expect(await closed).toBe(1009);
  }, 30_000);

  it('disconnects a reader that stops reading once its queue passes the limit, while others get everything', async () => {
    await initialize('loud', 'loud 6');
    const ref = reference('loud');
    const stalled = new WebSocket(`ws://127.0.0.1:${apiPort}/ws/devteam?projectId=loud&lastSeq=0`, { headers: { authorization: `Bearer ${ACME}` } });
    closers.push(() => stalled.terminate());
    let stalledFrames = 0;
    stalled.on('message', () => stalledFrames++);
    const stalledClosed = new Promise<number>((r) => stalled.on('close', (code) => r(code)));
    await new Promise((r) => stalled.on('open', r));
    (stalled as unknown as { _socket: Socket })._socket.pause();
    await ref.done;
    const lines = ref.frames.reduce((n, f) => n + (f.type === 'execution-log' ? (f.payload as { lines: unknown[] }).lines.length : 0), 0);
    expect(lines).toBeGreaterThanOrEqual(6 * 1024);
    // Reading again, the stalled client finds it was cut off part way.
    (stalled as unknown as { _socket: Socket })._socket.resume();
    expect(await stalledClosed).not.toBe(1000);
    expect(stalledFrames).toBeLessThan(ref.frames.length);
  }, 90_000);
});

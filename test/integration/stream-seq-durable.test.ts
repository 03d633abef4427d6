// A project's frame seq never goes backwards, over the real stream: after Redis loses its data
// (distributed) and after the process restarts (embedded), the next frame's seq is above every seq
// handed out before, a client that stayed connected gets it (not dropped as a duplicate), and a
// client resuming with its last seq gets a resync at a seq no lower than its own, then the new frames.
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { StreamClient, type Frame } from '../../src/client/index.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/infra/log.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { capableWorkers } from '../support/capable-workers.js';
import { createTestDatabase, dropRedisPrefix, eventually, freePort, REDIS_URL, tempDir, uniquePrefix } from '../support/services.js';

const ACME = 'acme-key-0123456789abcdef';


interface Deployment {
  runtime: Runtime;
  /** Loses what is volatile: Redis flushed (this prefix), or the embedded process restarted. */
  lose(): Promise<void>;
  stop(): Promise<void>;
}

const modes: Array<{ name: string; start: () => Promise<Deployment> }> = [
  {
    name: 'distributed, Redis flushed',
    async start() {
      const db = await createTestDatabase('seqdur');
      const dir = await tempDir('devteam-seqdur');
      const prefix = uniquePrefix('seqdur');
      const env = { PORT: '0', DATABASE_URL: db.url, REDIS_URL, DEVTEAM_REDIS_PREFIX: prefix, DEVTEAM_DATA_DIR: dir.path, DEVTEAM_API_KEYS: `acme:${ACME}` };
      // No worker drives the project: its frames come from pause/resume; one that could is announced.
      const runtime = await startRuntime(loadConfig(env), { api: true, worker: false }, createLogger({ level: 'silent' }), { workers: await capableWorkers() });
      return {
        runtime,
        lose: () => dropRedisPrefix(prefix),
        async stop() {
          await runtime.stop();
          await db.drop();
          await dir.remove();
          await dropRedisPrefix(prefix);
        },
      };
    },
  },
  {
    name: 'embedded, process restarted',
    async start() {
      const dir = await tempDir('devteam-seqdur');
      // The same port after the restart, so that the client reconnects as it would to a real service.
      const env = { PORT: String(await freePort()), DEVTEAM_DATA_DIR: dir.path, DEVTEAM_API_KEYS: `acme:${ACME}` };
      const start = async () => startRuntime(loadConfig(env), { api: true, worker: false }, createLogger({ level: 'silent' }), { workers: await capableWorkers() });
      const deployment: Deployment = {
        runtime: await start(),
        async lose() {
          await deployment.runtime.stop();
          deployment.runtime = await start();
        },
        async stop() {
          await deployment.runtime.stop();
          await dir.remove();
        },
      };
      return deployment;
    },
  },
];

for (const mode of modes) {
  describe(`frame seq across a loss: ${mode.name}`, () => {
    const cleanups: Array<() => Promise<void> | void> = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    it('continues above every seq handed out; a live client gets the next frame, a resuming one a resync first', async () => {
      const deployment = await mode.start();
      cleanups.push(() => deployment.stop());
      const base = () => `http://127.0.0.1:${deployment.runtime.port}`;
      const projectId = 'seq-web';
      const init = await post(`${base()}/api/devteam/automation/initialize`, { projectId, repository: { url: 'https://git.example.com/acme/web.git' } });
      expect(init).toBe(202);
      let paused = false;
      const toggle = async () => {
        expect(await post(`${base()}/api/devteam/automation/${paused ? 'resume' : 'pause'}/${projectId}`)).toBe(202);
        paused = !paused;
      };

      // A client that stays on: reconnects (embedded restart) and resumes from its last seq.
      const live: Frame[] = [];
      const client = new StreamClient({
        url: base(),
        token: ACME,
        projects: [projectId],
        lastSeq: { [projectId]: 0 },
        WebSocket: WebSocket as never,
        backoff: { stepMs: 50, maxMs: 200 },
        onFrame: (frame) => void (frame.projectId === projectId && live.push(frame)),
      });
      cleanups.push(() => client.close());
      await eventually(async () => (client.isOpen ? true : undefined), 5_000, 'the client connected');
      while ((client.lastSeq(projectId) ?? 0) < 15) {
        const before = client.lastSeq(projectId) ?? 0;
        await toggle();
        await eventually(async () => ((client.lastSeq(projectId) ?? 0) > before ? true : undefined), 5_000, 'the command frame');
      }
      const seen = client.lastSeq(projectId)!;

      await deployment.lose();

      // A client resuming with its last seq: told to resync (not silence), at a seq no lower than its own.
      const resumed = await subscribeRaw(base(), projectId, seen);
      cleanups.push(() => void resumed.socket.terminate());
      const first = await eventually(async () => resumed.frames[0], 5_000, 'the first frame after resuming');
      expect(first.type).toBe('resync');
      expect(first.seq).toBeGreaterThanOrEqual(seen);

      await eventually(async () => (client.isOpen ? true : undefined), 10_000, 'the client reconnected');
      await toggle();
      const next = await eventually(async () => resumed.frames.find((f) => f.type === 'execution-update'), 5_000, 'the frame after the loss');
      expect(next.seq).toBeGreaterThan(first.seq);
      expect(next.seq).toBeGreaterThan(seen);
      // The client that stayed on gets that frame too, not dropped as a duplicate of an old seq.
      await eventually(async () => (live.some((f) => f.seq === next.seq && f.type === 'execution-update') ? true : undefined), 5_000, 'the live client got the new frame');
      const seqs = live.map((f) => f.seq);
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThanOrEqual(seqs[i - 1]!);
      expect(live.filter((f) => f.type !== 'resync').map((f) => f.seq)).toEqual([...new Set(live.filter((f) => f.type !== 'resync').map((f) => f.seq))]);

      // And a resume from the new numbering is a plain replay: no resync, no duplicate.
      const again = await subscribeRaw(base(), projectId, first.seq);
      cleanups.push(() => void again.socket.terminate());
      await eventually(async () => (again.frames.length > 0 ? true : undefined), 5_000, 'the replay');
      expect(again.frames[0]).toEqual(next);
    }, 60_000);
  });
}

/** A POST on a connection of its own: a kept-alive one could still reach the stopped process's server. */
async function post(url: string, body?: unknown): Promise<number> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      agent: false,
      headers: { authorization: `Bearer ${ACME}`, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function subscribeRaw(base: string, projectId: string, lastSeq: number): Promise<{ socket: WebSocket; frames: Frame[] }> {
  const frames: Frame[] = [];
  const socket = new WebSocket(`${base.replace('http', 'ws')}/ws/devteam`, { headers: { authorization: `Bearer ${ACME}` } });
  socket.on('message', (data) => {
    const frame = JSON.parse(String(data)) as Frame;
    if (frame.projectId === projectId) frames.push(frame);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'subscribe', projectId, lastSeq }));
  return { socket, frames };
}

// Webhooks end to end: a real run on a real git remote with the scripted `command` agent, and a
// real HTTP receiver on 127.0.0.1. Each task end and the run's end is POSTed once, signed with the
// tenant's key, kept in the outbox and retried until a 2xx; the destination rules hold at
// initialize (literal addresses, credentials, secret namespace) and at delivery (what a name
// resolves to), and the delivery log is the owner tenant's only.
import { createHmac } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { hostname } from 'node:os';
import ipaddr from 'ipaddr.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentRemote } from '../support/agent-remote.js';
import { startEmbeddedRuntime, type EmbeddedRuntime } from '../support/embedded-runtime.js';
import { eventually } from '../support/services.js';

const HOOK_KEY = 'whsec-test-3c1f0d9b7a5e42c8b6d4f2a0e8c6b4a2';
const KEY_ENV = 'DEVTEAM_SECRET_LOCAL__HOOK_KEY';

interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  body: Record<string, any>;
}

/** A webhook receiver that answers 500 to the first `failFirst` POSTs, then 204. */
async function startReceiver(failFirst = 0 as number): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  let calls = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, raw, body: JSON.parse(raw) as Record<string, any> });
      res.statusCode = ++calls <= failFirst ? 500 : 204;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/hooks/devteam`, received, close: () => new Promise((r) => server.close(() => r())) };
}

/** An embedded runtime for a describe block, with the signing key set in process.env while it runs. */
function hookedRuntime(label: string, env: Record<string, string>): () => EmbeddedRuntime {
  let service: EmbeddedRuntime;
  const saved = process.env[KEY_ENV];
  beforeAll(async () => {
    process.env[KEY_ENV] = HOOK_KEY;
    service = await startEmbeddedRuntime(label, env);
  }, 60_000);
  afterAll(async () => {
    await service?.stop();
    if (saved === undefined) delete process.env[KEY_ENV];
    else process.env[KEY_ENV] = saved;
  }, 60_000);
  return () => service;
}

const signatureOf = (raw: string) => `sha256=${createHmac('sha256', HOOK_KEY).update(raw).digest('hex')}`;

describe('webhooks', () => {
  const runtime = hookedRuntime('devteam-webhooks', { DEVTEAM_WEBHOOK_ALLOW_PRIVATE: '1', DEVTEAM_WEBHOOK_POLL_MS: '100', DEVTEAM_WEBHOOK_RETRY_BASE_MS: '300' });

  const body = (projectId: string, bare: string, notify: Record<string, unknown>, agent = 'echo "$(date +%s%N)" >> NOTES.md') => ({
    projectId,
    repository: { url: `file://${bare}` },
    agent: { preset: 'command', command: ['sh', '-c', agent], timeoutSec: 60 },
    verify: { commands: [['git', '--version']], timeoutSec: 60 },
    notify,
  });
  const deliveries = async (executionId: string) => {
    const res = await fetch(runtime().url(`/api/devteam/automation/executions/${executionId}/deliveries`));
    expect(res.status).toBe(200);
    return ((await res.json()) as { deliveries: Array<Record<string, any>> }).deliveries;
  };

  it('each task end and the run end is POSTed once, signed, in order; a 500 is retried with the same delivery id', async () => {
    const receiver = await startReceiver(1);
    try {
      const remote = await createAgentRemote(runtime().dir, 'hooked', [
        { id: '1.1', title: 'first' },
        { id: '1.2', title: 'second', dependencies: ['1.1'] },
      ]);
      const reply = await runtime().initialize(body('hooked', remote.bare, { url: receiver.url, secretEnv: KEY_ENV }));
      expect(reply.status, reply.text).toBe(202);
      expect((await runtime().settled('hooked')).status).toBe('completed');
      const executionId = reply.body.executionId as string;
      const list = await eventually(async () => {
        const l = await deliveries(executionId);
        return l.length === 3 && l.every((d) => d.status === 'delivered') ? l : undefined;
      }, 20_000, 'three delivered webhooks');

      expect(list.map((d) => d.event)).toEqual(['task.done', 'task.done', 'run.completed']);
      expect(new Set(list.map((d) => d.id)).size).toBe(3);
      // The first try of the first delivery met the 500: tried again, same id, 2 tries on record.
      expect(list[0]!.tries.map((t: any) => t.statusCode)).toEqual([500, 204]);
      expect(list[0]!.attempts).toBe(2);
      expect(list[1]!.tries.map((t: any) => t.statusCode)).toEqual([204]);
      expect(receiver.received).toHaveLength(4);
      expect(receiver.received[0]!.headers['x-devteam-delivery']).toBe(list[0]!.id);
      expect(receiver.received[1]!.headers['x-devteam-delivery']).toBe(list[0]!.id);
      expect(receiver.received[1]!.raw).toBe(receiver.received[0]!.raw);

      const unique = receiver.received.slice(1);
      for (const r of unique) {
        expect(r.headers['x-devteam-signature']).toBe(signatureOf(r.raw));
        expect(r.headers['x-devteam-event']).toBe(r.body.event);
        expect(r.headers['x-devteam-delivery']).toBe(r.body.id);
        expect(r.body).toMatchObject({ projectId: 'hooked', executionId });
      }
      expect(unique.map((r) => [r.body.event, r.body.task?.id ?? null])).toEqual([
        ['task.done', '1.1'],
        ['task.done', '1.2'],
        ['run.completed', null],
      ]);
      expect(unique[0]!.body.task).toMatchObject({ id: '1.1', status: 'done', attempts: 1 });
      expect(unique[0]!.body.task.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(unique[2]!.body.run).toMatchObject({ status: 'completed', progress: { done: 2, total: 2 } });
      // The signing key is in no delivery log.
      expect(JSON.stringify(list).includes(HOOK_KEY)).toBe(false);
    } finally {
      await receiver.close();
    }
  }, 120_000);

  it('only the events asked for: a failing run with events ["run.failed"] sends run.failed alone', async () => {
    const receiver = await startReceiver();
    try {
      const remote = await createAgentRemote(runtime().dir, 'hooked-fail', [{ id: '1.1', title: 'nothing happens' }]);
      const reply = await runtime().initialize(body('hooked-fail', remote.bare, { url: receiver.url, secretEnv: KEY_ENV, events: ['run.failed'] }, 'true'));
      expect(reply.status, reply.text).toBe(202);
      expect((await runtime().settled('hooked-fail')).status).toBe('failed');
      await eventually(async () => (receiver.received.length >= 1 ? true : undefined), 20_000, 'run.failed delivered');
      const list = await deliveries(reply.body.executionId);
      expect(list.map((d) => d.event)).toEqual(['run.failed']);
      expect(receiver.received.map((r) => r.body.event)).toEqual(['run.failed']);
      expect(receiver.received[0]!.body.run).toMatchObject({ status: 'failed', reason: 'no_change' });
    } finally {
      await receiver.close();
    }
  }, 120_000);
});

describe('webhook destinations', () => {
  let service: EmbeddedRuntime;
  const KEYS = 'acme:key-acme-0123456789ab,globex:key-globex-0123456789';
  const ACME_KEY_ENV = 'DEVTEAM_SECRET_ACME__HOOK_KEY';
  const saved = process.env[ACME_KEY_ENV];
  const as = (key: string) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });

  beforeAll(async () => {
    process.env[ACME_KEY_ENV] = HOOK_KEY;
    // The default policy: no private destinations.
    service = await startEmbeddedRuntime('devteam-webhook-policy', { DEVTEAM_API_KEYS: KEYS, DEVTEAM_WEBHOOK_POLL_MS: '100', DEVTEAM_WEBHOOK_RETRY_BASE_MS: '200' });
  }, 60_000);

  afterAll(async () => {
    await service?.stop();
    if (saved === undefined) delete process.env[ACME_KEY_ENV];
    else process.env[ACME_KEY_ENV] = saved;
  }, 60_000);

  const initialize = async (projectId: string, notify: Record<string, unknown>, url = 'file:///nowhere') => {
    const res = await fetch(service.url('/api/devteam/automation/initialize'), {
      method: 'POST',
      headers: as('key-acme-0123456789ab'),
      body: JSON.stringify({ projectId, repository: { url }, agent: { preset: 'command', command: ['true'] }, verify: { commands: [['true']] }, notify }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  it.each([
    ['a loopback address', { url: 'http://127.0.0.1:9/hook', secretEnv: ACME_KEY_ENV }, /loopback/],
    ['a private address', { url: 'https://10.1.2.3/hook', secretEnv: ACME_KEY_ENV }, /private/],
    ['the metadata service', { url: 'http://169.254.169.254/latest', secretEnv: ACME_KEY_ENV }, /linkLocal/],
    ['an IPv4-mapped loopback', { url: 'http://[::ffff:127.0.0.1]/', secretEnv: ACME_KEY_ENV }, /loopback/],
    ['localhost by name', { url: 'http://localhost:8080/', secretEnv: ACME_KEY_ENV }, /this machine/],
    ['credentials in the URL', { url: 'https://user:pass@hooks.example.com/', secretEnv: ACME_KEY_ENV }, /credentials/],
    ['a non-http scheme', { url: 'file:///etc/passwd', secretEnv: ACME_KEY_ENV }, /http/],
  ])('initialize refuses %s with 422 on notify.url', async (_what, notify, message) => {
    const reply = await initialize('refused-hook', notify);
    expect(reply.status).toBe(422);
    expect(JSON.stringify(reply.body)).toMatch(/notify\.url/);
    expect(JSON.stringify(reply.body)).toMatch(message);
  });

  it("initialize refuses a signing key outside the tenant's namespace", async () => {
    const reply = await initialize('refused-hook', { url: 'https://hooks.example.com/x', secretEnv: 'DEVTEAM_SECRET_GLOBEX__HOOK_KEY' });
    expect(reply.status).toBe(422);
    expect(JSON.stringify(reply.body)).toMatch(/notify\.secretEnv/);
  });

  it('a host name that resolves to this machine is refused at delivery, each try recorded; another tenant sees no deliveries (404)', async () => {
    // This host's own name: accepted at initialize (not an address, not localhost), resolves locally.
    const name = hostname();
    const resolved = await lookup(name);
    expect(ipaddr.parse(resolved.address).range(), `${name} must resolve to a non-public address for this test`).not.toBe('unicast');
    const receiver = await startReceiver();
    try {
      const port = new URL(receiver.url).port;
      const remote = await createAgentRemote(service.dir, 'rebound', [{ id: '1.1', title: 'one' }]);
      const res = await fetch(service.url('/api/devteam/automation/initialize'), {
        method: 'POST',
        headers: as('key-acme-0123456789ab'),
        body: JSON.stringify(body('rebound', remote.bare, { url: `http://${name}:${port}/hook`, secretEnv: ACME_KEY_ENV })),
      });
      const reply = (await res.json()) as Record<string, any>;
      expect(res.status, JSON.stringify(reply)).toBe(202);
      const executionId = reply.executionId as string;
      const path = `/api/devteam/automation/executions/${executionId}/deliveries`;
      const list = await eventually(async () => {
        const r = await fetch(service.url(path), { headers: as('key-acme-0123456789ab') });
        const l = ((await r.json()) as { deliveries: Array<Record<string, any>> }).deliveries;
        return l.length >= 2 && l.every((d) => d.tries.length >= 2) ? l : undefined;
      }, 30_000, 'refused tries on record');
      for (const d of list) {
        expect(d.status).toBe('pending');
        for (const t of d.tries) {
          expect(t.statusCode).toBeNull();
          expect(t.error).toMatch(/refused: .* resolves to .*(loopback|private)/);
        }
      }
      expect(receiver.received).toHaveLength(0);
      const other = await fetch(service.url(path), { headers: as('key-globex-0123456789') });
      expect(other.status).toBe(404);
      const malformed = await fetch(service.url('/api/devteam/automation/executions/not-a-uuid/deliveries'), { headers: as('key-acme-0123456789ab') });
      expect(malformed.status).toBe(400);
    } finally {
      await receiver.close();
    }
  }, 120_000);

  function body(projectId: string, bare: string, notify: Record<string, unknown>) {
    return {
      projectId,
      repository: { url: `file://${bare}` },
      agent: { preset: 'command', command: ['sh', '-c', 'echo x >> NOTES.md'], timeoutSec: 60 },
      verify: { commands: [['git', '--version']], timeoutSec: 60 },
      notify,
    };
  }
});

describe('webhook expiry', () => {
  const runtime = hookedRuntime('devteam-webhook-expiry', {
    DEVTEAM_WEBHOOK_ALLOW_PRIVATE: '1',
    DEVTEAM_WEBHOOK_POLL_MS: '100',
    DEVTEAM_WEBHOOK_RETRY_BASE_MS: '200',
    DEVTEAM_WEBHOOK_RETRY_FOR_MS: '2000',
  });

  const run = async (projectId: string, notify: Record<string, unknown>) => {
    const remote = await createAgentRemote(runtime().dir, projectId, [{ id: '1.1', title: 'one' }]);
    const reply = await runtime().initialize({
      projectId,
      repository: { url: `file://${remote.bare}` },
      agent: { preset: 'command', command: ['sh', '-c', 'echo x >> NOTES.md'], timeoutSec: 60 },
      verify: { commands: [['git', '--version']], timeoutSec: 60 },
      notify,
    });
    expect(reply.status, reply.text).toBe(202);
    await runtime().settled(projectId);
    return eventually(async () => {
      const res = await fetch(runtime().url(`/api/devteam/automation/executions/${reply.body.executionId}/deliveries`));
      const l = ((await res.json()) as { deliveries: Array<Record<string, any>> }).deliveries;
      return l.length === 2 && l.every((d) => d.status !== 'pending') ? l : undefined;
    }, 30_000, 'deliveries to end');
  };

  it('a receiver that never answers 2xx: tried with growing gaps until the time is over, then failed', async () => {
    const receiver = await startReceiver(Number.MAX_SAFE_INTEGER);
    try {
      const list = await run('always-500', { url: receiver.url, secretEnv: KEY_ENV, events: ['task.done', 'run.completed'] });
      for (const d of list) {
        expect(d.status).toBe('failed');
        expect(d.finishedAt).not.toBeNull();
        expect(d.nextAttemptAt).toBeNull();
        expect(d.tries.length).toBeGreaterThanOrEqual(2);
        expect(d.tries.every((t: any) => t.statusCode === 500)).toBe(true);
        const gaps = d.tries.slice(1).map((t: any, i: number) => Date.parse(t.at) - Date.parse(d.tries[i].at));
        // 200 ms, then 400 ms, …: each gap at least the backoff of its try.
        gaps.forEach((gap: number, i: number) => expect(gap).toBeGreaterThanOrEqual(200 * 2 ** i - 50));
      }
      const count = receiver.received.length;
      await new Promise((r) => setTimeout(r, 600));
      expect(receiver.received.length, 'no try after the delivery failed').toBe(count);
    } finally {
      await receiver.close();
    }
  }, 120_000);

  it('a signing key the worker does not have: never sent unsigned, each try says why', async () => {
    const receiver = await startReceiver();
    try {
      const list = await run('unsigned', { url: receiver.url, secretEnv: 'DEVTEAM_SECRET_LOCAL__NOT_SET_ANYWHERE' });
      for (const d of list) {
        expect(d.status).toBe('failed');
        expect(d.tries[0].error).toMatch(/DEVTEAM_SECRET_LOCAL__NOT_SET_ANYWHERE is not set in the worker's environment/);
      }
      expect(receiver.received).toHaveLength(0);
    } finally {
      await receiver.close();
    }
  }, 120_000);
});

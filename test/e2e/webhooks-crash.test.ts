// The webhook outbox survives a crash: the compiled service (embedded) finishes a run while the
// receiver answers 503, is SIGKILLed with its deliveries pending, and started again on the same
// data directory: the deliveries go out then, with the ids and the tries recorded before the crash.
import { createServer, type Server } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { createAgentRemote } from '../support/agent-remote.js';
import { startService, type CliProcess } from '../support/cli-process.js';
import { eventually, tempDir } from '../support/services.js';
import { join } from 'node:path';

describe('webhook outbox across a crash', () => {
  const procs: CliProcess[] = [];
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  let server: Server | undefined;

  afterAll(async () => {
    for (const p of procs) await p.stop('SIGKILL');
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    await dir?.remove();
  }, 30_000);

  it('deliveries pending when the process is killed are sent by the next one, same ids, earlier tries kept', async () => {
    dir = await tempDir('devteam-webhook-crash');
    let up = false;
    const received: Array<{ id: string; event: string }> = [];
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        if (up) received.push({ id: String(req.headers['x-devteam-delivery']), event: String(req.headers['x-devteam-event']) });
        res.statusCode = up ? 200 : 503;
        res.end();
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
    const env = {
      DEVTEAM_DATA_DIR: join(dir.path, 'data'),
      DEVTEAM_FILE_REMOTE_ROOTS: dir.path,
      DEVTEAM_WEBHOOK_ALLOW_PRIVATE: '1',
      DEVTEAM_WEBHOOK_POLL_MS: '100',
      DEVTEAM_WEBHOOK_RETRY_BASE_MS: '300',
      DEVTEAM_SECRET_LOCAL__HOOK_KEY: 'crash-test-signing-key-0123456789',
    };
    const first = await startService(['serve'], env);
    procs.push(first.proc);
    const api = (port: number | null, path: string) => `http://127.0.0.1:${port}${path}`;

    const remote = await createAgentRemote(dir.path, 'crashy', [{ id: '1.1', title: 'one' }]);
    const res = await fetch(api(first.port, '/api/devteam/automation/initialize'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        projectId: 'crashy',
        repository: { url: `file://${remote.bare}` },
        agent: { preset: 'command', command: ['sh', '-c', 'echo x >> NOTES.md'], timeoutSec: 60 },
        verify: { commands: [['git', '--version']], timeoutSec: 60 },
        notify: { url: hookUrl, secretEnv: 'DEVTEAM_SECRET_LOCAL__HOOK_KEY' },
      }),
    });
    const { executionId } = (await res.json()) as { executionId: string };
    expect(res.status).toBe(202);
    const deliveries = async (port: number | null) =>
      ((await (await fetch(api(port, `/api/devteam/automation/executions/${executionId}/deliveries`))).json()) as { deliveries: Array<Record<string, any>> }).deliveries;
    const before = await eventually(async () => {
      const l = await deliveries(first.port);
      return l.length === 2 && l.every((d) => d.tries.length >= 1) ? l : undefined;
    }, 60_000, 'two deliveries tried once');
    expect(before.every((d) => d.status === 'pending' && d.tries[0].statusCode === 503)).toBe(true);

    await first.proc.stop('SIGKILL');
    up = true;
    const second = await startService(['serve'], env);
    procs.push(second.proc);
    const after = await eventually(async () => {
      const l = await deliveries(second.port);
      return l.length === 2 && l.every((d) => d.status === 'delivered') ? l : undefined;
    }, 60_000, 'the deliveries sent after the restart');
    expect(after.map((d) => d.id)).toEqual(before.map((d) => d.id));
    for (const d of after) {
      expect(d.tries[0].statusCode).toBe(503);
      expect(d.tries.at(-1).statusCode).toBe(200);
    }
    expect(received.map((r) => r.event).sort()).toEqual(['run.completed', 'task.done']);
    expect(new Set(received.map((r) => r.id))).toEqual(new Set(before.map((d) => d.id)));
  }, 180_000);
});

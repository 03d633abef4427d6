// `devteam serve --inspect ws://…` streams the project machines' inspection events to an
// inspector server: here a plain WebSocket server standing in for Stately's bridge.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { agentProjectBody, createAgentRemote } from '../support/agent-remote.js';
import { startService, type CliProcess } from '../support/cli-process.js';
import { createTestDatabase, eventually, tempDir } from '../support/services.js';

describe('devteam serve --inspect', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('sends the project actor’s inspection events (actor, events, snapshots) to the inspector', async () => {
    const received: Array<{ type: string; [k: string]: unknown }> = [];
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => new Promise((r) => wss.close(r)));
    wss.on('connection', (socket) => socket.on('message', (data) => received.push(JSON.parse(String(data)))));
    await new Promise((r) => wss.once('listening', r));
    const port = (wss.address() as { port: number }).port;

    const db = await createTestDatabase('inspect');
    cleanups.push(() => db.drop());
    const dir = await tempDir('devteam-inspect');
    cleanups.push(() => dir.remove());
    const { proc, port: apiPort } = await startService(['serve', '--inspect', `ws://127.0.0.1:${port}`], {
      DATABASE_URL: db.url,
      DEVTEAM_DATA_DIR: join(dir.path, 'data'),
      DEVTEAM_RECONCILE_MS: '200',
      // The remote is a file:// remote under dir.path: open it for it.
      DEVTEAM_FILE_REMOTE_ROOTS: dir.path,
    });
    cleanups.push(() => (proc as CliProcess).stop());

    const remote = await createAgentRemote(dir.path, 'watched', [{ id: '1.1', title: 'write a file' }]);
    const res = await fetch(`http://127.0.0.1:${apiPort}/api/devteam/automation/initialize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(agentProjectBody('watched', `file://${remote.bare}`)),
    });
    expect(res.status).toBe(202);

    const snapshot = await eventually(
      async () => received.find((e) => e.type === '@xstate.snapshot' && JSON.stringify(e).includes('"verify"')),
      30_000,
      'a snapshot in the verify phase',
    );
    expect(JSON.stringify(snapshot)).toContain('watched');
    expect(received.some((e) => e.type === '@xstate.actor')).toBe(true);
  }, 60_000);
});

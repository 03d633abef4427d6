// One automation path: the DEVTEAM_AUTOMATION job of the event is what starts a project's actor
// on a worker — for initialize, and for POST /events naming an initialized project or carrying a
// whole initialize body. The reconcile poll is set to a minute here, so it cannot be what drives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentRemote } from '../support/agent-remote.js';
import { startEmbeddedRuntime, type EmbeddedRuntime } from '../support/embedded-runtime.js';
import { git } from '../support/git-remote.js';
import { eventually } from '../support/services.js';

interface EventReply {
  status: string;
  error: string | null;
  taskContext: { executionId?: string; status?: string; progress?: { done: number; total: number } } | null;
}

describe('one automation path', () => {
  let service: EmbeddedRuntime;

  beforeAll(async () => {
    service = await startEmbeddedRuntime('devteam-path', { DEVTEAM_RECONCILE_MS: '60000' });
  }, 60_000);

  afterAll(async () => {
    await service?.stop();
  }, 60_000);

  const url = (path: string) => service.url(path);
  const post = (path: string, body: unknown) => service.post(path, body);
  const project = (projectId: string, bare: string) => ({
    projectId,
    repository: { url: `file://${bare}` },
    agent: { preset: 'command', command: ['sh', '-c', 'echo done >> NOTES.md'], timeoutSec: 60 },
    verify: { commands: [['git', '--version']], timeoutSec: 60 },
  });
  const finalEvent = (eventId: string) =>
    eventually(async () => {
      const e = (await (await fetch(url(`/events/${eventId}`))).json()) as EventReply;
      return e.status === 'processed' || e.status === 'failed' ? e : undefined;
    }, 30_000, 'the event to be handled');
  const completed = (projectId: string) =>
    eventually(async () => {
      const s = (await (await fetch(url(`/api/devteam/automation/status/${projectId}`))).json()) as { status: string };
      return s.status === 'completed' ? s : undefined;
    }, 60_000, `${projectId} to complete`);

  it("initialize's job drives the project, and its event shows the execution's live state", async () => {
    const remote = await createAgentRemote(service.dir, 'via-init', [{ id: '1.1', title: 'one' }]);
    const reply = await post('/api/devteam/automation/initialize', project('via-init', remote.bare));
    expect(reply.status).toBe(202);
    await completed('via-init');
    const event = await finalEvent(reply.body.eventId);
    expect(event).toMatchObject({ status: 'processed', taskContext: { executionId: reply.body.executionId, status: 'completed', progress: { done: 1, total: 1 } } });
    await git(remote.work, 'fetch', '--quiet', 'origin');
    expect(await git(remote.work, 'show', 'origin/main:NOTES.md')).toBe('done');
  }, 90_000);

  it('POST /events with an initialize body as payload runs the real pipeline', async () => {
    const remote = await createAgentRemote(service.dir, 'via-event', [{ id: '1.1', title: 'one' }]);
    const { projectId, ...payload } = project('via-event', remote.bare);
    const reply = await post('/events', { type: 'DEVTEAM_AUTOMATION', projectId, payload });
    expect(reply.status).toBe(202);
    await completed('via-event');
    const event = await finalEvent(reply.body.eventId);
    expect(event).toMatchObject({ status: 'processed', taskContext: { status: 'completed' } });
    await git(remote.work, 'fetch', '--quiet', 'origin');
    expect(await git(remote.work, 'log', '--format=%s', '-n', '1', 'origin/main')).toBe('Task 1.1: one');
  }, 90_000);

  it('POST /events for a project nobody initialized fails with the reason, and a bad body is a 422 naming payload fields', async () => {
    const reply = await post('/events', { type: 'DEVTEAM_AUTOMATION', projectId: 'never-initialized', payload: {} });
    expect(reply.status).toBe(202);
    const event = await finalEvent(reply.body.eventId);
    expect(event.status).toBe('failed');
    expect(event.error).toMatch(/project never-initialized is not initialized/);
    const bad = await post('/events', { type: 'DEVTEAM_AUTOMATION', projectId: 'bad', payload: { repository: { url: 'ftp://x' } } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details[0].field).toBe('payload.repository.url');
  });
});

// The ArtifactsStore contract: every implementation (and every database it runs on) must pass these
// tests unchanged. Each test writes to executions of its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactsStore, ExecutionsStore } from '../../src/infra/db/index.js';
import { AWKWARD_JSON, serializationProbe, unserializable } from './store-json.js';

export interface ArtifactsStoreFixture {
  /** Caps each artifact at MAX_BYTES. */
  artifacts: ArtifactsStore;
  /** On the same database: artifacts belong to an execution. */
  executions: ExecutionsStore;
  cleanup(): Promise<void>;
}

export type MakeArtifactsStore = (opts: { maxBytes: number }) => Promise<ArtifactsStoreFixture>;

const MAX_BYTES = 1024;

export function artifactsStoreContract(implementation: string, make: MakeArtifactsStore): void {
  describe(`ArtifactsStore contract: ${implementation}`, () => {
    let fixture: ArtifactsStoreFixture;
    let artifacts: ArtifactsStore;

    beforeAll(async () => {
      fixture = await make({ maxBytes: MAX_BYTES });
      artifacts = fixture.artifacts;
    });
    afterAll(async () => fixture?.cleanup());

    async function newExecution(): Promise<string> {
      const id = crypto.randomUUID();
      await fixture.executions.create({
        id,
        tenant: 'acme',
        projectId: `web-${id.slice(0, 8)}`,
        eventId: null,
        config: {},
        machine: { id: 'devteam-project', version: 1 },
        snapshot: {},
        projection: { status: 'running', phase: 'implement', currentTask: null, progress: { done: 0, total: 1 }, attempt: 1, lastError: null, results: {} },
      });
      return id;
    }

    it('puts an artifact and returns it with its sizes and meta but without its content', async () => {
      const executionId = await newExecution();
      const diff = await artifacts.put({ executionId, taskId: '1.1', attempt: 1, kind: 'diff', content: 'diff --git a/x b/x\n', meta: { files: ['x'] } });
      expect(diff).toMatchObject({ executionId, taskId: '1.1', attempt: 1, kind: 'diff', bytes: 19, bytesTotal: 19, truncated: false, meta: { files: ['x'] } });
      expect(diff.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(diff.createdAt).toBeInstanceOf(Date);
      expect(diff.content).toBeUndefined();
      // Meta defaults to {}; bytes count UTF-8.
      expect(await artifacts.put({ executionId, taskId: '1.1', attempt: 1, kind: 'prompt', content: '✓' })).toMatchObject({ meta: {}, bytes: 3, bytesTotal: 3 });
    });

    it('lists the execution’s artifacts oldest first, filtered by task, contents only when asked', async () => {
      const executionId = await newExecution();
      const other = await newExecution();
      await artifacts.put({ executionId, taskId: '1.1', attempt: 1, kind: 'diff', content: 'diff --git a/x b/x\n' });
      await artifacts.put({ executionId, taskId: '1.1', attempt: 1, kind: 'verify-output', content: 'ok\n', meta: { exitCode: 0, durationMs: 1234 } });
      await artifacts.put({ executionId, taskId: '1.2', attempt: 2, kind: 'prompt', content: '# Task 1.2\n' });
      await artifacts.put({ executionId: other, taskId: '1.1', attempt: 1, kind: 'diff', content: 'not this execution' });

      const all = await artifacts.list(executionId);
      expect(all.map((a) => [a.taskId, a.attempt, a.kind])).toEqual([
        ['1.1', 1, 'diff'],
        ['1.1', 1, 'verify-output'],
        ['1.2', 2, 'prompt'],
      ]);
      expect(all.every((a) => a.content === undefined)).toBe(true);
      const task = await artifacts.list(executionId, { taskId: '1.1', withContent: true });
      expect(task.map((a) => a.content)).toEqual(['diff --git a/x b/x\n', 'ok\n']);
      expect(task[1]!.meta).toEqual({ exitCode: 0, durationMs: 1234 });
      expect(await artifacts.list(executionId, { taskId: '9.9' })).toEqual([]);
      expect(await artifacts.list(crypto.randomUUID())).toEqual([]);
    });

    it('gets one artifact with its content; null for an unknown or malformed id', async () => {
      const executionId = await newExecution();
      const put = await artifacts.put({ executionId, taskId: '1.1', attempt: 1, kind: 'files', content: 'src/a.ts\nsrc/b.ts\n', meta: { count: 2 } });
      expect(await artifacts.get(put.id)).toEqual({ ...put, content: 'src/a.ts\nsrc/b.ts\n' });
      expect(await artifacts.get(crypto.randomUUID())).toBeNull();
      expect(await artifacts.get('not-a-uuid')).toBeNull();
      expect(await artifacts.get("'; drop table artifacts; --")).toBeNull();
    });

    it('refuses an invalid artifact with invalid_artifact, storing nothing', async () => {
      const executionId = await newExecution();
      const base = { executionId, taskId: '1.1', attempt: 1, kind: 'diff' as const, content: '' };
      for (const bad of [{ kind: 'nope' as never }, { taskId: '' }, { attempt: -1 }, { attempt: 1.5 }, { executionId: 'not-a-uuid' }, { taskId: 'x'.repeat(65) }]) {
        await expect(artifacts.put({ ...base, ...bad })).rejects.toMatchObject({ code: 'invalid_artifact' });
      }
      expect(await artifacts.list(executionId)).toEqual([]);
    });

    it('caps content at maxBytes: the end of outputs, the start of diffs, with the original size', async () => {
      const executionId = await newExecution();
      const lines = Array.from({ length: 200 }, (_, i) => `line ${i} ✓`).join('\n') + '\n';
      const total = Buffer.byteLength(lines);
      const output = await artifacts.put({ executionId, taskId: '2.1', attempt: 1, kind: 'agent-output', content: lines });
      const diff = await artifacts.put({ executionId, taskId: '2.1', attempt: 1, kind: 'diff', content: lines });

      expect(output).toMatchObject({ truncated: true, bytesTotal: total });
      expect(output.bytes).toBeLessThanOrEqual(MAX_BYTES);
      const outText = (await artifacts.get(output.id))!.content!;
      expect(Buffer.byteLength(outText)).toBe(output.bytes);
      expect(outText.endsWith('line 199 ✓\n')).toBe(true);
      expect(outText.startsWith('line ')).toBe(true);

      expect(diff).toMatchObject({ truncated: true, bytesTotal: total });
      const diffText = (await artifacts.get(diff.id))!.content!;
      expect(diffText.startsWith('line 0 ✓\n')).toBe(true);
      expect(diffText.endsWith('✓\n')).toBe(true);
      expect(Buffer.byteLength(diffText)).toBeLessThanOrEqual(MAX_BYTES);
      expect(Buffer.byteLength(diffText)).toBe(diff.bytes);

      const exact = 'x'.repeat(MAX_BYTES);
      expect(await artifacts.put({ executionId, taskId: '2.1', attempt: 1, kind: 'prompt', content: exact })).toMatchObject({ truncated: false, bytes: MAX_BYTES });
    });

    it('stores NUL as U+FFFD (text cannot hold it) instead of refusing the artifact', async () => {
      const executionId = await newExecution();
      const nul = await artifacts.put({ executionId, taskId: '2.1', attempt: 1, kind: 'verify-output', content: 'a\0b' });
      expect((await artifacts.get(nul.id))!.content).toBe('a\uFFFDb');
      expect(nul.bytesTotal).toBe(3);
    });

    it('round-trips meta and unicode content exactly', async () => {
      const executionId = await newExecution();
      const content = AWKWARD_JSON.unicode.join('\n');
      const put = await artifacts.put({ executionId, taskId: '3.1', attempt: 1, kind: 'agent-output', content: content.slice(0, 200), meta: { ...AWKWARD_JSON, wide: AWKWARD_JSON.wide.slice(0, 10) } });
      expect(put.meta).toEqual({ ...AWKWARD_JSON, wide: AWKWARD_JSON.wide.slice(0, 10) });
      const [listed] = await artifacts.list(executionId, { withContent: true });
      expect(listed!.content).toBe(content.slice(0, 200));
      expect(listed!.meta).toEqual(put.meta);
    });

    it('serializes meta itself, once, before any query, and refuses meta JSON cannot hold as its own error', async () => {
      const executionId = await newExecution();
      const probe = serializationProbe();
      const putting = artifacts.put({ executionId, taskId: '4.1', attempt: 1, kind: 'files', content: 'a\n', meta: { probe: probe.value } });
      expect(probe.calls()).toBe(1);
      expect((await putting).meta).toEqual({ probe: { probed: true } });
      expect(probe.calls()).toBe(1);

      await expect(artifacts.put({ executionId, taskId: '4.1', attempt: 2, kind: 'files', content: 'b\n', meta: { bad: unserializable() } })).rejects.toMatchObject({
        code: 'invalid_json_value',
      });
      expect((await artifacts.list(executionId)).map((a) => a.attempt)).toEqual([1]);
    });
  });
}

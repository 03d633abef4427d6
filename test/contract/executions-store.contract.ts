// The ExecutionsStore contract: every implementation (and every database it runs on) must pass these
// tests unchanged. The store lives for the whole describe; each test uses its own project ids.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initialTransition } from 'xstate';
import type { EventsStore, ExecutionsStore, NewExecution, Projection } from '../../src/infra/db/index.js';
import { applyCommand, projectMachine, projectionOf, type ProjectCommand } from '../../src/machines/index.js';
import { AWKWARD_JSON, serializationProbe, unserializable } from './store-json.js';

export interface ExecutionsStoreFixture {
  /** Knows machine `devteam-project` at version 1, and no other. */
  executions: ExecutionsStore;
  /** On the same database: the event that starts an execution is written in its transaction. */
  events: EventsStore;
  cleanup(): Promise<void>;
}

export type MakeExecutionsStore = () => Promise<ExecutionsStoreFixture>;

const projection = (over: Partial<Projection> = {}): Projection => ({
  status: 'running',
  phase: 'select',
  currentTask: null,
  progress: { done: 0, total: 0 },
  attempt: 0,
  lastError: null,
  results: {},
  ...over,
});

export function executionsStoreContract(implementation: string, make: MakeExecutionsStore): void {
  describe(`ExecutionsStore contract: ${implementation}`, () => {
    let fixture: ExecutionsStoreFixture;
    let store: ExecutionsStore;

    beforeAll(async () => {
      fixture = await make();
      store = fixture.executions;
    });

    afterAll(async () => fixture?.cleanup());

    const newExecution = (projectId: string, over: { machineVersion?: number } = {}): NewExecution => ({
      id: crypto.randomUUID(),
      tenant: 'acme',
      projectId,
      eventId: null,
      config: { repository: { url: 'https://git.example.com/acme/web.git' } },
      machine: { id: 'devteam-project', version: over.machineVersion ?? 1 },
      snapshot: { value: { running: 'select' }, context: { n: 0 } },
      projection: projection(),
    });

    it('creates an execution at version 0 and refuses a second live one for the project', async () => {
      const created = await store.create(newExecution('web'));
      expect(created).toMatchObject({ version: 0, ownerEpoch: 0, projectId: 'web', projection: { status: 'running', phase: 'select' } });
      await expect(store.create(newExecution('web'))).rejects.toMatchObject({ code: 'project_running' });
      // Another tenant's project of the same name is independent.
      await expect(store.create({ ...newExecution('web'), tenant: 'beta' })).resolves.toMatchObject({ tenant: 'beta' });
    });

    it('writes with compare-and-set and refuses a stale version', async () => {
      const e = await store.create(newExecution('cas'));
      const epoch = await store.claim('acme', 'cas');
      const v1 = await store.save({ executionId: e.id, expectedVersion: 0, epoch, snapshot: { n: 1 }, projection: projection({ phase: 'prep', currentTask: { id: '1.1', title: 'T' } }) });
      expect(v1).toBe(1);
      await expect(store.save({ executionId: e.id, expectedVersion: 0, epoch, snapshot: { n: 2 }, projection: projection() })).rejects.toMatchObject({
        code: 'version_conflict',
        details: { currentVersion: 1 },
      });
      const read = await store.get(e.id);
      expect(read).toMatchObject({ version: 1, snapshot: { n: 1 }, ownerEpoch: epoch, projection: { phase: 'prep', currentTask: { id: '1.1', title: 'T' } } });
    });

    it('fences out the previous owner once a new one claims the project', async () => {
      const e = await store.create(newExecution('fence'));
      const first = await store.claim('acme', 'fence');
      await store.save({ executionId: e.id, expectedVersion: 0, epoch: first, snapshot: {}, projection: projection() });
      const second = await store.claim('acme', 'fence');
      expect(second).toBe(first + 1);
      await expect(store.save({ executionId: e.id, expectedVersion: 1, epoch: first, snapshot: { late: true }, projection: projection() })).rejects.toMatchObject({
        code: 'lease_lost',
        details: { currentEpoch: second },
      });
      expect(await store.save({ executionId: e.id, expectedVersion: 1, epoch: second, snapshot: {}, projection: projection() })).toBe(2);
    });

    it('marks finished executions and then allows a new one for the project', async () => {
      const e = await store.create(newExecution('done'));
      const epoch = await store.claim('acme', 'done');
      await store.save({ executionId: e.id, expectedVersion: 0, epoch, snapshot: {}, projection: projection({ status: 'completed', progress: { done: 3, total: 3 } }) });
      const finished = await store.get(e.id);
      expect(finished?.finishedAt).toBeInstanceOf(Date);
      expect(finished?.projection.progress).toEqual({ done: 3, total: 3 });
      const next = await store.create(newExecution('done'));
      expect((await store.latest('acme', 'done'))?.id).toBe(next.id);
    });

    it('serializes 50 concurrent control commands: each answer matches the state the one before left', async () => {
      const [initial] = initialTransition(projectMachine, { projectId: 'race', executionId: crypto.randomUUID() });
      const e = await store.create({ ...newExecution('race'), snapshot: projectMachine.getPersistedSnapshot(initial), projection: projectionOf(initial) });
      const commands: ProjectCommand[] = Array.from({ length: 50 }, (_, i) => (['pause', 'resume', 'pause', 'resume', 'stop'] as const)[(i * 7) % 5]!);
      const answers = await Promise.all(
        commands.map(async (command) => {
          let outcome: ReturnType<typeof applyCommand> | undefined;
          const result = await store.applyCommand('acme', 'race', (current) => {
            outcome = applyCommand(current.snapshot, command);
            return outcome.accepted ? { snapshot: outcome.snapshot, projection: outcome.projection } : null;
          });
          return { command, outcome: outcome!, version: result!.record.version, status: result!.record.projection.status };
        }),
      );
      // Replay the accepted commands in version order from the start: the same answers must follow.
      const accepted = answers.filter((a) => a.outcome.accepted).sort((a, b) => a.version - b.version);
      expect(accepted.map((a) => a.version)).toEqual(accepted.map((_, i) => i + 1));
      let status = 'running';
      for (const a of accepted) {
        expect(a.outcome.from).toBe(status);
        status = a.status;
      }
      for (const refused of answers.filter((a) => !a.outcome.accepted)) {
        expect(['stopping', refused.command === 'pause' ? 'paused' : 'running']).toContain(refused.outcome.from);
      }
      const final = await store.get(e.id);
      expect(final!.version).toBe(accepted.length);
      expect(final!.projection.status).toBe(status);
      expect(status).toBe('stopping');
    });

    it('answers null for a control command on a project without executions', async () => {
      expect(await store.applyCommand('acme', 'never-initialized', () => null)).toBeNull();
    });

    it('refuses to load a snapshot of a machine version it does not know', async () => {
      const e = await store.create(newExecution('old-machine', { machineVersion: 99 }));
      await expect(store.load(e.id)).rejects.toMatchObject({ code: 'unknown_machine_version', details: { machineVersion: 99, known: [1] } });
    });

    it('lists a live execution as needing an owner until a lease is recorded, again once it runs out or is released', async () => {
      const needs = async (id: string) => (await store.needingOwner(1_000)).some((c) => c.id === id);
      const e = await store.create(newExecution('lease-rec'));
      expect(await needs(e.id)).toBe(true); // never taken
      await store.recordLease('acme', 'lease-rec', 'token-a', 60_000);
      expect(await needs(e.id)).toBe(false);
      expect((await store.recordedLease('acme', 'lease-rec'))?.token).toBe('token-a');
      // Another owner's release does not forget this one's lease.
      await store.clearLease('acme', 'lease-rec', 'token-b');
      expect(await needs(e.id)).toBe(false);
      await store.clearLease('acme', 'lease-rec', 'token-a');
      expect(await needs(e.id)).toBe(true);
      expect(await store.recordedLease('acme', 'lease-rec')).toEqual({ token: null, expiresAt: null });
      // A lease recorded for 1 ms runs out by the database's clock.
      await store.recordLease('acme', 'lease-rec', 'token-c', 1);
      await new Promise((r) => setTimeout(r, 5));
      expect(await needs(e.id)).toBe(true);
      // The epoch (the fence) is not touched by any of it.
      expect(await store.claim('acme', 'lease-rec')).toBe(1);
      // Paused: nobody needs to own it, whatever its lease.
      await store.clearLease('acme', 'lease-rec', 'token-c');
      await store.applyCommand('acme', 'lease-rec', (current) => ({ snapshot: current.snapshot, projection: { ...current.projection, status: 'paused' } }));
      expect(await needs(e.id)).toBe(false);
    });

    it('records a renewed lease at the cost of the epoch bump, one small UPDATE (measured, printed)', async () => {
      await store.create(newExecution('lease-cost'));
      const timed = async (write: () => Promise<unknown>) => {
        const samples: number[] = [];
        for (let i = 0; i < 300; i++) {
          const t0 = performance.now();
          await write();
          samples.push(performance.now() - t0);
        }
        samples.sort((a, b) => a - b);
        return { p50: samples[150]!, p99: samples[297]! };
      };
      // Interleaved twice so that load on the shared server weighs on both alike.
      const claim1 = await timed(() => store.claim('acme', 'lease-cost'));
      const record1 = await timed(() => store.recordLease('acme', 'lease-cost', 'token', 15_000));
      const claim2 = await timed(() => store.claim('acme', 'lease-cost'));
      const record2 = await timed(() => store.recordLease('acme', 'lease-cost', 'token', 15_000));
      const ms = (x: number) => x.toFixed(2);
      console.log(
        `on ${implementation}: recordLease p50 ${ms(record1.p50)}/${ms(record2.p50)} ms, p99 ${ms(record1.p99)}/${ms(record2.p99)} ms; ` +
          `claim (epoch bump) p50 ${ms(claim1.p50)}/${ms(claim2.p50)} ms, p99 ${ms(claim1.p99)}/${ms(claim2.p99)} ms`,
      );
      expect(Math.min(record1.p50, record2.p50)).toBeLessThan(Math.max(claim1.p50, claim2.p50) * 3 + 1);
    });

    it('journals steps so a finished one is reused after a crash', async () => {
      const e = await store.create(newExecution('steps'));
      expect(await store.stepResult(e.id, '1.1:merge:1')).toBeNull();
      await store.stepStarted(e.id, '1.1:merge:1', { name: 'merge', taskId: '1.1', attempt: 1 });
      expect(await store.stepResult(e.id, '1.1:merge:1')).toMatchObject({ status: 'running' });
      await store.stepFinished(e.id, '1.1:merge:1', { ok: true, output: { commit: 'abc' } });
      // A re-run after a crash starts the step again: a succeeded step keeps its result.
      await store.stepStarted(e.id, '1.1:merge:1', { name: 'merge', taskId: '1.1', attempt: 1 });
      expect(await store.stepResult(e.id, '1.1:merge:1')).toEqual({ status: 'succeeded', output: { commit: 'abc' }, error: null });
      await store.stepStarted(e.id, '1.1:verify:1', { name: 'verify', taskId: '1.1', attempt: 1 });
      await store.stepFinished(e.id, '1.1:verify:1', { ok: false, error: 'npm run build exited 2' });
      expect(await store.stepResult(e.id, '1.1:verify:1')).toMatchObject({ status: 'failed', error: 'npm run build exited 2' });
    });

    it('keeps tenants apart: another tenant reads no execution, config or lease of a project of the same name', async () => {
      await store.create({ ...newExecution('scoped'), config: { owner: 'acme' } });
      expect(await store.latest('acme', 'scoped')).toMatchObject({ tenant: 'acme', projectId: 'scoped' });
      expect(await store.latest('beta', 'scoped')).toBeNull();
      expect(await store.projectConfig('acme', 'scoped')).toEqual({ owner: 'acme' });
      expect(await store.projectConfig('beta', 'scoped')).toBeNull();
      expect(await store.recordedLease('beta', 'scoped')).toBeNull();
      expect(await store.applyCommand('beta', 'scoped', () => null)).toBeNull();
      await expect(store.claim('beta', 'scoped')).rejects.toMatchObject({ code: 'execution_not_found', details: { tenant: 'beta', projectId: 'scoped' } });
      // The same name under another tenant is its own project, with its own epoch.
      await store.create({ ...newExecution('scoped'), tenant: 'beta', config: { owner: 'beta' } });
      expect(await store.claim('beta', 'scoped')).toBe(1);
      expect(await store.claim('acme', 'scoped')).toBe(1);
      expect(await store.projectConfig('beta', 'scoped')).toEqual({ owner: 'beta' });
    });

    it("lists a tenant's projects in id order with their latest execution, by status and after a cursor, without snapshots", async () => {
      const tenant = `list-${crypto.randomUUID()}`;
      const finish = async (id: string, projectId: string, status: 'completed' | 'failed') => {
        const epoch = await store.claim(tenant, projectId);
        await store.save({ executionId: id, expectedVersion: 0, epoch, snapshot: {}, projection: projection({ status }) });
      };
      const b1 = await store.create({ ...newExecution('b'), tenant });
      await finish(b1.id, 'b', 'failed');
      const b2 = await store.create({ ...newExecution('b'), tenant });
      const a = await store.create({ ...newExecution('a'), tenant });
      await finish(a.id, 'a', 'completed');
      const c = await store.create({ ...newExecution('c'), tenant });
      await store.create({ ...newExecution('a'), tenant: `${tenant}-other` });

      const all = await store.listProjects(tenant, { limit: 10 });
      expect(all.map((e) => [e.projectId, e.id, e.projection.status])).toEqual([
        ['a', a.id, 'completed'],
        ['b', b2.id, 'running'],
        ['c', c.id, 'running'],
      ]);
      expect(all.every((e) => e.snapshot === null)).toBe(true);
      expect((await store.listProjects(tenant, { limit: 1, after: 'a' })).map((e) => e.projectId)).toEqual(['b']);
      // The status filter looks at the latest execution only: b's earlier failed run does not count.
      expect((await store.listProjects(tenant, { status: 'failed', limit: 10 })).map((e) => e.projectId)).toEqual([]);
      expect((await store.listProjects(tenant, { status: 'running', limit: 10, after: 'b' })).map((e) => e.projectId)).toEqual(['c']);
      expect(await store.listProjects(`${tenant}-nobody`, { limit: 10 })).toEqual([]);

      const history = await store.history(tenant, 'b', { limit: 10 });
      expect(history.map((e) => e.id)).toEqual([b2.id, b1.id]);
      expect(history.map((e) => e.projection.status)).toEqual(['running', 'failed']);
      expect((await store.history(tenant, 'b', { limit: 10, before: b2.id })).map((e) => e.id)).toEqual([b1.id]);
      expect(await store.history(`${tenant}-other`, 'b', { limit: 10 })).toEqual([]);
    });

    it('updates the project config on each create and keeps the epoch across executions', async () => {
      const first = await store.create({ ...newExecution('reconfigured'), config: { v: 1 } });
      const epoch = await store.claim('acme', 'reconfigured');
      await store.save({ executionId: first.id, expectedVersion: 0, epoch, snapshot: {}, projection: projection({ status: 'stopped' }) });
      await store.create({ ...newExecution('reconfigured'), config: { v: 2 } });
      expect(await store.projectConfig('acme', 'reconfigured')).toEqual({ v: 2 });
      expect(await store.claim('acme', 'reconfigured')).toBe(epoch + 1);
    });

    it('runs alsoInTransaction inside create: the starting event and the execution exist together or not at all', async () => {
      const eventId = crypto.randomUUID();
      const started = await store.create({ ...newExecution('with-event'), eventId }, (tx) =>
        fixture.events.insert({ id: eventId, tenant: 'acme', type: 'DEVTEAM_AUTOMATION', projectId: 'with-event', correlationId: 'corr-start', payload: {} }, tx),
      );
      expect(started.eventId).toBe(eventId);
      expect(await fixture.events.get(eventId)).toMatchObject({ tenant: 'acme', correlationId: 'corr-start' });
      expect(await store.correlationOf(started.id)).toBe('corr-start');
      expect(await store.correlationOf(crypto.randomUUID())).toBeNull();

      const failedEvent = crypto.randomUUID();
      const refused = newExecution('rolled-back');
      await expect(
        store.create(refused, async (tx) => {
          await fixture.events.insert({ id: failedEvent, tenant: 'acme', type: 'X', projectId: 'rolled-back', correlationId: 'c', payload: {} }, tx);
          throw new Error('enqueue refused');
        }),
      ).rejects.toThrow('enqueue refused');
      expect(await store.get(refused.id)).toBeNull();
      expect(await fixture.events.get(failedEvent)).toBeNull();
      expect(await store.projectConfig('acme', 'rolled-back')).toBeNull();
      // The project is free: nothing of the failed create holds it.
      await expect(store.create(newExecution('rolled-back'))).resolves.toMatchObject({ version: 0 });
    });

    it('answers execution_not_found for an unknown execution or project', async () => {
      const unknown = crypto.randomUUID();
      await expect(store.load(unknown)).rejects.toMatchObject({ code: 'execution_not_found', details: { executionId: unknown } });
      await expect(store.save({ executionId: unknown, expectedVersion: 0, epoch: 1, snapshot: {}, projection: projection() })).rejects.toMatchObject({
        code: 'execution_not_found',
      });
      await expect(store.claim('acme', 'no-such-project')).rejects.toMatchObject({ code: 'execution_not_found' });
      expect(await store.get(unknown)).toBeNull();
      expect(await store.latest('acme', 'no-such-project')).toBeNull();
      expect(await store.recordedLease('acme', 'no-such-project')).toBeNull();
    });

    it('loads an execution of a known machine version with its snapshot and projection', async () => {
      const e = await store.create(newExecution('loadable'));
      expect(await store.load(e.id)).toEqual(await store.get(e.id));
      expect(await store.load(e.id)).toMatchObject({ machineId: 'devteam-project', machineVersion: 1, snapshot: { value: { running: 'select' }, context: { n: 0 } } });
    });

    it('lists running and stopping executions as needing a driver, not paused or finished ones', async () => {
      const drives = async (id: string) => (await store.needingDriver(10_000)).find((c) => c.id === id);
      const running = await store.create(newExecution('drive-running'));
      const stopping = await store.create(newExecution('drive-stopping'));
      const paused = await store.create(newExecution('drive-paused'));
      const done = await store.create(newExecution('drive-done'));
      const set = (projectId: string, status: Projection['status']) =>
        store.applyCommand('acme', projectId, (current) => ({ snapshot: current.snapshot, projection: { ...current.projection, status } }));
      await set('drive-stopping', 'stopping');
      await set('drive-paused', 'paused');
      await set('drive-done', 'completed');
      expect(await drives(running.id)).toEqual({ id: running.id, tenant: 'acme', projectId: 'drive-running' });
      expect(await drives(stopping.id)).toEqual({ id: stopping.id, tenant: 'acme', projectId: 'drive-stopping' });
      expect(await drives(paused.id)).toBeUndefined();
      expect(await drives(done.id)).toBeUndefined();
      expect(await store.needingDriver(1)).toHaveLength(1);
      expect(await store.needingOwner(1)).toHaveLength(1);
    });

    it("offers tenants in turn: one tenant's single project comes before another tenant's older queue drains", async () => {
      // One after another: created at once, their order (updated_at) would not be the array's.
      const flood: Awaited<ReturnType<typeof store.create>>[] = [];
      for (let i = 0; i < 6; i++) flood.push(await store.create({ ...newExecution(`flood-${i}`), tenant: 'flood' }));
      const lone = await store.create({ ...newExecution('lone'), tenant: 'lone' });
      for (const search of [(n: number) => store.needingDriver(n), (n: number) => store.needingOwner(n)]) {
        const order = (await search(10_000)).map((c) => c.id);
        // Oldest first would put it after all six of the flood.
        expect(order.indexOf(lone.id)).toBeLessThan(order.indexOf(flood[1]!.id));
        expect(order.indexOf(flood[0]!.id)).toBeLessThan(order.indexOf(flood[1]!.id));
      }
      for (const [tenant, projectId] of [...flood.map((e) => ['flood', e.projectId] as const), ['lone', 'lone'] as const]) {
        await store.applyCommand(tenant, projectId, (current) => ({ snapshot: current.snapshot, projection: { ...current.projection, status: 'completed' } }));
      }
    });

    it('returns changed: false and leaves the version when a control command is refused', async () => {
      const e = await store.create(newExecution('refused-command'));
      const result = await store.applyCommand('acme', 'refused-command', () => null);
      expect(result).toMatchObject({ changed: false, record: { id: e.id, version: 0 } });
      expect((await store.get(e.id))!.version).toBe(0);
    });

    it('round-trips snapshot, config, results and step output exactly: unicode, large and tiny numbers, deep and wide values', async () => {
      const e = await store.create({ ...newExecution('json'), config: { ...AWKWARD_JSON }, snapshot: AWKWARD_JSON, projection: projection({ results: { ...AWKWARD_JSON } }) });
      expect(e.snapshot).toEqual(AWKWARD_JSON);
      expect(e.projection.results).toEqual(AWKWARD_JSON);
      expect(await store.projectConfig('acme', 'json')).toEqual(AWKWARD_JSON);
      const epoch = await store.claim('acme', 'json');
      const saved = { again: AWKWARD_JSON };
      await store.save({ executionId: e.id, expectedVersion: 0, epoch, snapshot: saved, projection: projection({ results: saved }) });
      expect((await store.get(e.id))!.snapshot).toEqual(saved);
      expect((await store.latest('acme', 'json'))!.projection.results).toEqual(saved);
      await store.stepStarted(e.id, 'json:1', { name: 'implement', taskId: null, attempt: 1 });
      await store.stepFinished(e.id, 'json:1', { ok: true, output: AWKWARD_JSON });
      expect(await store.stepResult(e.id, 'json:1')).toEqual({ status: 'succeeded', output: AWKWARD_JSON, error: null });
      // An output of undefined is journalled as null.
      await store.stepStarted(e.id, 'json:2', { name: 'cleanup', taskId: null, attempt: 1 });
      await store.stepFinished(e.id, 'json:2', { ok: true, output: undefined });
      expect(await store.stepResult(e.id, 'json:2')).toEqual({ status: 'succeeded', output: null, error: null });
    });

    it('serializes JSON itself, once, before any query: the driver never sees a user value', async () => {
      const [config, snapshot, results] = [serializationProbe(), serializationProbe(), serializationProbe()];
      const creating = store.create({ ...newExecution('probed'), config: { p: config.value }, snapshot: snapshot.value, projection: projection({ results: { p: results.value } }) });
      expect([config.calls(), snapshot.calls(), results.calls()]).toEqual([1, 1, 1]);
      const e = await creating;
      expect([config.calls(), snapshot.calls(), results.calls()]).toEqual([1, 1, 1]);
      expect(e.snapshot).toEqual({ probed: true });

      const [saved, savedResults] = [serializationProbe(), serializationProbe()];
      const epoch = await store.claim('acme', 'probed');
      const saving = store.save({ executionId: e.id, expectedVersion: 0, epoch, snapshot: saved.value, projection: projection({ results: { p: savedResults.value } }) });
      expect([saved.calls(), savedResults.calls()]).toEqual([1, 1]);
      expect(await saving).toBe(1);
      expect([saved.calls(), savedResults.calls()]).toEqual([1, 1]);

      const output = serializationProbe();
      await store.stepStarted(e.id, 'probed:1', { name: 'merge', taskId: '1.1', attempt: 1 });
      const finishing = store.stepFinished(e.id, 'probed:1', { ok: true, output: output.value });
      expect(output.calls()).toBe(1);
      await finishing;
      expect(output.calls()).toBe(1);
      expect((await store.stepResult(e.id, 'probed:1'))!.output).toEqual({ probed: true });
    });

    it('refuses a value JSON cannot hold as this call’s own error, writing nothing', async () => {
      const refused = { ...newExecution('unserializable'), snapshot: unserializable() };
      await expect(store.create(refused)).rejects.toMatchObject({ code: 'invalid_json_value' });
      expect(await store.get(refused.id)).toBeNull();
      expect(await store.projectConfig('acme', 'unserializable')).toBeNull();

      const e = await store.create(newExecution('unserializable'));
      const epoch = await store.claim('acme', 'unserializable');
      await expect(store.save({ executionId: e.id, expectedVersion: 0, epoch, snapshot: unserializable(), projection: projection() })).rejects.toMatchObject({
        code: 'invalid_json_value',
      });
      await expect(
        store.applyCommand('acme', 'unserializable', (current) => ({ snapshot: unserializable(), projection: current.projection })),
      ).rejects.toMatchObject({ code: 'invalid_json_value' });
      expect((await store.get(e.id))!.version).toBe(0);
      await store.stepStarted(e.id, 'bad:1', { name: 'merge', taskId: null, attempt: 1 });
      await expect(store.stepFinished(e.id, 'bad:1', { ok: true, output: unserializable() })).rejects.toMatchObject({ code: 'invalid_json_value' });
      expect(await store.stepResult(e.id, 'bad:1')).toMatchObject({ status: 'running' });
      expect(await store.save({ executionId: e.id, expectedVersion: 0, epoch, snapshot: {}, projection: projection() })).toBe(1);
    });
  });
}

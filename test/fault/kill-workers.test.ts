// Crashes during a distributed run: two workers sharing one data directory (so one checkout) are
// SIGKILLed at seeded random moments and restarted, again and again, while they drive a project.
// The run must complete with exactly one commit per task, each adding exactly one line (a change
// applied twice — IMPLEMENT run again on a checkout it did not reset — shows as two lines), and
// the stream's seq must never go backwards.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliProcess } from '../support/cli-process.js';
import { startOwnedService } from '../support/fault-services.js';
import { LONG_MODE, Prng, seedFrom } from '../support/prng.js';
import { createTestDatabase, dropRedisPrefix, REDIS_URL, tempDir, uniquePrefix, type TestDatabase } from '../support/services.js';
import { recordStream, type WsRecorder } from '../support/ws-recorder.js';
import { createNotesProject, notesBody, readStatus, remoteProblems, waitForStatus, warnings, type NotesProject } from './fault-project.js';
import { stopProcess } from './fuzz-suite.js';

// The agent lingers after its change (long: longer, so 15 kills each land before the run ends).
const SIZE = LONG_MODE ? { tasks: 5, killsPerWorker: 15, agentSleepSec: 2, runMs: 600_000 } : { tasks: 3, killsPerWorker: 4, agentSleepSec: 0.8, runMs: 90_000 };
const PROJECT = 'fault-kills';
const TTL_MS = 2_000;

describe(`a ${SIZE.tasks}-task run survives two workers on one data directory being SIGKILLed ${SIZE.killsPerWorker} times each`, () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let db: TestDatabase;
  let project: NotesProject;
  let stream: WsRecorder;
  let api: CliProcess;
  const prefix = uniquePrefix('fault-kills');
  const workers: Array<CliProcess | null> = [null, null];
  const seed = seedFrom('DEVTEAM_FAULT_SEED', 'kill schedule');

  beforeAll(async () => {
    dir = await tempDir('devteam-fault-kills');
    db = await createTestDatabase('faultkills');
    project = await createNotesProject(dir.path, 'notes', SIZE.tasks);
  }, 60_000);

  afterAll(async () => {
    await stream?.close();
    for (const p of [...workers, api]) if (p) await stopProcess(p, 3_000);
    await db?.drop();
    await dropRedisPrefix(prefix);
    await dir?.remove();
  }, 60_000);

  it(`completes with one commit per task, each adding one line, and seq never backwards (seed ${seed})`, async () => {
    const env = (name: string) => ({
      DATABASE_URL: db.url,
      REDIS_URL,
      DEVTEAM_REDIS_PREFIX: prefix,
      // The workers share one data directory: the same repository cache and checkout.
      DEVTEAM_DATA_DIR: join(dir.path, name === 'api' ? 'api' : 'shared'),
      DEVTEAM_FILE_REMOTE_ROOTS: dir.path,
      DEVTEAM_LEASE_TTL_MS: String(TTL_MS),
      DEVTEAM_RECONCILE_MS: '200',
      DEVTEAM_OUTBOX_INTERVAL_MS: '500',
      DEVTEAM_OUTBOX_GRACE_MS: '1000',
    });
    const started = await startOwnedService(['api'], env('api'));
    api = started.proc;
    const port = started.port!;
    const everyWorker: CliProcess[] = [];
    const startWorker = async (i: number) => {
      workers[i] = (await startOwnedService(['worker'], env(`w${i}`))).proc;
      everyWorker.push(workers[i]!);
    };
    await Promise.all([startWorker(0), startWorker(1)]);

    const res = await fetch(`http://127.0.0.1:${port}/api/devteam/automation/initialize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(notesBody(PROJECT, `file://${project.remote.bare}`, SIZE.agentSleepSec)),
    });
    expect(res.status, await res.clone().text()).toBe(202);
    stream = recordStream(port, PROJECT);
    const t0 = Date.now();

    const drives = (w: CliProcess) => {
      const mine = w.lines.filter((l) => l.projectId === PROJECT && (l.msg === 'took ownership of the project' || l.msg === 'stopped driving the project'));
      return mine.at(-1)?.msg === 'took ownership of the project';
    };
    // Seeded kills: a random worker, at a random moment, restarted at once; until the count is reached or the run ends.
    const rng = new Prng(seed);
    const kills = [0, 0];
    const killLog: string[] = [];
    while (kills[0]! + kills[1]! < SIZE.killsPerWorker * 2 && Date.now() - t0 < SIZE.runMs) {
      await new Promise((r) => setTimeout(r, rng.int(300, 2_500)));
      const s = await readStatus(port, PROJECT);
      if (s && ['completed', 'failed', 'stopped'].includes(s.status)) break;
      // Mostly the owner (the one driving the project: where a crash interrupts a step), sometimes the other.
      const owner = workers.findIndex((w) => w !== null && drives(w));
      const wanted = owner >= 0 && rng.chance(0.8) ? owner : rng.int(0, 1);
      const i = kills[wanted]! < SIZE.killsPerWorker ? wanted : 1 - wanted;
      const w = workers[i]!;
      w.child.kill('SIGKILL');
      await w.exited;
      kills[i]!++;
      killLog.push(`${Date.now() - t0}ms w${i}${i === owner ? ' (owner)' : ''} (${s?.phase ?? '?'} ${s?.currentTask?.id ?? ''} ${JSON.stringify(s?.progress)})`);
      await startWorker(i);
    }
    console.log(`kills: w0 ×${kills[0]}, w1 ×${kills[1]} — ${killLog.join('; ')}`);

    const final = await waitForStatus(port, PROJECT, () => false, Math.max(20_000, SIZE.runMs - (Date.now() - t0)));
    console.log(`run ended at ${Date.now() - t0} ms: ${final?.status} ${JSON.stringify(final?.progress)} lastError ${final?.lastError}`);
    const failures: string[] = [];
    const procs = (): Array<[string, CliProcess]> => [['api', api], ...everyWorker.map((w, i): [string, CliProcess] => [`worker #${i + 1}`, w])];
    if (final?.status !== 'completed') failures.push(`the run did not complete: ${final?.status} at ${JSON.stringify(final?.progress)}, phase ${final?.phase}, lastError ${final?.lastError}`);
    const remote = await remoteProblems(project);
    console.log(`remote main after the run: ${JSON.stringify(remote.log)}`);
    failures.push(...remote.problems);
    await new Promise((r) => setTimeout(r, 500));
    const seq = stream.seqProblems();
    console.log(`stream: ${stream.frames.length} frames over ${stream.connections} connections, last status ${stream.lastStatus()}`);
    if (seq.length) failures.push(`seq went backwards ${seq.length} times on the stream, first: ${seq.slice(0, 3).join('; ')}`);
    if (final?.status === 'completed' && stream.lastStatus() !== 'completed') failures.push(`the stream never delivered the completed update (last status seen: ${stream.lastStatus()})`);
    if (failures.length) {
      for (const [name, p] of procs()) console.log(`${name} warnings/errors:\n  ${warnings(p.lines, PROJECT).join('\n  ') || '(none)'}`);
    }
    expect(failures).toEqual([]);
  }, SIZE.runMs + 90_000);
});

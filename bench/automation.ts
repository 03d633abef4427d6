// The automation API's numbers: GET status under load (autocannon against the real service, as a
// child process), snapshot writes (ExecutionsStore.save, the per-transition persist) on Postgres
// and on embedded PGlite. Prints p50/p95/p99 and the machine.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { initialTransition } from 'xstate';
import { migrate, openDatabase, PostgresExecutionsStore, type ExecutionsStore } from '../src/infra/db/index.js';
import { projectionOf, projectMachine } from '../src/machines/index.js';
import { REDIS_URL, start, tempDatabase, type Service } from './service.js';
import { machine, summary } from './stats.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    projects: { type: 'string', default: '100' },
    writes: { type: 'string', default: '1000' },
  },
});
const PROJECTS = Number(values.projects);

async function statusReads(mode: string, service: Service): Promise<void> {
  const base = `http://127.0.0.1:${service.port}`;
  for (let i = 0; i < PROJECTS; i++) {
    const res = await fetch(`${base}/api/devteam/automation/initialize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ projectId: `bench-${i}`, repository: { url: 'file:///nonexistent/bench.git' } }),
    });
    if (res.status !== 202) throw new Error(`initialize answered ${res.status}: ${await res.text()}`);
  }
  let n = 0;
  const result = await autocannon({
    url: base,
    connections: Number(values.connections),
    duration: Number(values.seconds),
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/api/devteam/automation/status/bench-${n++ % PROJECTS}` }) }],
  });
  const l = result.latency;
  console.log(`\n== GET status, ${mode}: ${values.connections} connections, ${values.seconds} s, ${PROJECTS} projects`);
  console.log(`throughput ${result.requests.average.toFixed(0)} req/s  (non-2xx: ${result.non2xx}, errors: ${result.errors}, timeouts: ${result.timeouts})`);
  console.log(`latency    p50 ${l.p50} ms  p90 ${l.p90} ms  p99 ${l.p99} ms  max ${l.max} ms  (autocannon, 1 ms resolution)`);
}

async function snapshotWrites(label: string, open: () => Promise<{ store: ExecutionsStore; close(): Promise<void> }>): Promise<void> {
  const { store, close } = await open();
  try {
    const id = crypto.randomUUID();
    const [initial] = initialTransition(projectMachine, { projectId: 'writes', executionId: id });
    const snapshot = projectMachine.getPersistedSnapshot(initial);
    await store.create({ id, tenant: 'bench', projectId: 'writes', eventId: null, config: {}, machine: { id: 'devteam-project', version: 1 }, snapshot, projection: projectionOf(initial) });
    const epoch = await store.claim('bench', 'writes');
    const samples: number[] = [];
    let version = 0;
    for (let i = 0; i < Number(values.writes); i++) {
      const t0 = performance.now();
      version = await store.save({ executionId: id, expectedVersion: version, epoch, snapshot, projection: projectionOf(initial) });
      samples.push(performance.now() - t0);
    }
    console.log(summary(`snapshot write, ${label}`, samples, 34));
  } finally {
    await close();
  }
}

console.log(machine());
const services: Service[] = [];
const dir = await mkdtemp(join(tmpdir(), 'devteam-bench-automation-'));
const dbs: Array<{ drop(): Promise<void> }> = [];
try {
  const db = await tempDatabase();
  dbs.push(db);
  const prefix = `devteam-bench-${crypto.randomUUID().slice(0, 8)}`;
  const api = await start(['api'], { DATABASE_URL: db.url, REDIS_URL, DEVTEAM_REDIS_PREFIX: prefix, LOG_LEVEL: 'info', DEVTEAM_DATA_DIR: join(dir, 'api') });
  services.push(api);
  await statusReads('Postgres + Redis (devteam api)', api);
  await api.stop();

  const embedded = await start(['serve'], { DEVTEAM_DATA_DIR: join(dir, 'embedded'), LOG_LEVEL: 'info', DEVTEAM_SANDBOX: 'none' });
  services.push(embedded);
  await statusReads('embedded PGlite (devteam serve)', embedded);
  await embedded.stop();

  console.log(`\n== snapshot writes: ${values.writes} sequential compare-and-set writes of the persisted project snapshot`);
  const writesDb = await tempDatabase();
  dbs.push(writesDb);
  await snapshotWrites('Postgres', async () => {
    const handle = await openDatabase({ url: writesDb.url, dataDir: dir });
    await migrate(handle.sql);
    return { store: new PostgresExecutionsStore(handle.sql, { 'devteam-project': [1] }), close: () => handle.close() };
  });
  await snapshotWrites('embedded PGlite', async () => {
    const handle = await openDatabase({ dataDir: join(dir, 'writes') });
    await migrate(handle.sql);
    return { store: new PostgresExecutionsStore(handle.sql, { 'devteam-project': [1] }), close: () => handle.close() };
  });
} finally {
  for (const s of services) await s.stop().catch(() => {});
  for (const d of dbs) await d.drop().catch(() => {});
  await rm(dir, { recursive: true, force: true });
}

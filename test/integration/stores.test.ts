// The store contracts (EventsStore, ExecutionsStore, ArtifactsStore) run against their one
// implementation on both databases it serves: real Postgres (a fresh database per suite) and the
// embedded PGlite (a fresh data dir per suite), migrated with the real sql/ migrations.
import {
  migrate,
  openDatabase,
  PostgresArtifactsStore,
  PostgresEventsStore,
  PostgresExecutionsStore,
  type Database,
} from '../../src/infra/db/index.js';
import { artifactsStoreContract } from '../contract/artifacts-store.contract.js';
import { eventsStoreContract } from '../contract/events-store.contract.js';
import { executionsStoreContract } from '../contract/executions-store.contract.js';
import { createTestDatabase, tempDir } from '../support/services.js';

const KNOWN_MACHINES = { 'devteam-project': [1] };

interface Opened {
  db: Database;
  cleanup(): Promise<void>;
}

const backends: Array<{ name: string; open: (label: string) => Promise<Opened> }> = [
  {
    name: 'Postgres',
    open: async (label) => {
      const t = await createTestDatabase(label);
      const db = await openDatabase({ url: t.url, dataDir: '/nonexistent' });
      return { db, cleanup: async () => (await db.close(), await t.drop()) };
    },
  },
  {
    name: 'PGlite',
    open: async (label) => {
      const dir = await tempDir(`devteam-${label}`);
      const db = await openDatabase({ dataDir: dir.path });
      return { db, cleanup: async () => (await db.close(), await dir.remove()) };
    },
  },
];

async function migrated(backend: (typeof backends)[number], label: string): Promise<Opened> {
  const opened = await backend.open(label);
  try {
    await migrate(opened.db.sql);
  } catch (error) {
    await opened.cleanup();
    throw error;
  }
  return opened;
}

for (const backend of backends) {
  eventsStoreContract(`PostgresEventsStore on ${backend.name}`, async () => {
    const { db, cleanup } = await migrated(backend, 'events');
    return { events: (maxAttempts) => new PostgresEventsStore(db.sql, maxAttempts), cleanup };
  });

  executionsStoreContract(`PostgresExecutionsStore on ${backend.name}`, async () => {
    const { db, cleanup } = await migrated(backend, 'exec');
    return { executions: new PostgresExecutionsStore(db.sql, KNOWN_MACHINES), events: new PostgresEventsStore(db.sql), cleanup };
  });

  artifactsStoreContract(`PostgresArtifactsStore on ${backend.name}`, async ({ maxBytes }) => {
    const { db, cleanup } = await migrated(backend, 'artifacts');
    return { artifacts: new PostgresArtifactsStore(db.sql, { maxBytes }), executions: new PostgresExecutionsStore(db.sql, KNOWN_MACHINES), cleanup };
  });
}

#!/usr/bin/env node
// The `devteam` command: serve (API + worker), api, worker, migrate. Builds the config once from
// env and flags, then the runtime; owns the process signals and exit codes.
import { Command, Option } from 'commander';
import { ConfigError, isDistributed, loadConfig, parseApiKeys, SETTINGS, type Config, type SettingKey } from './config.js';
import { migrate, migrationStatus, openDatabase } from './infra/db/index.js';
import { createLogger, redactText, SecretRegistry, type Logger } from './infra/log.js';
import { sandboxOf, startRuntime, type Roles } from './runtime.js';
import { formatDoctor, runDoctor } from './infra/doctor/index.js';
import { splitAgentPath } from './infra/sandbox/index.js';
import { startInspection, type Inspection } from './infra/inspect.js';
import { runWatch } from './cli-watch.js';
import { workerSecretValues } from './project/index.js';

const EXIT_CONFIG = 2;

function withSettings(command: Command, keys: SettingKey[]): Command {
  for (const key of keys) {
    const s = SETTINGS[key];
    command.addOption(new Option(s.flag, `${s.doc} (env ${s.env})`));
  }
  return command;
}

function configFrom(flags: Record<string, unknown>): Config {
  const picked: Partial<Record<SettingKey, unknown>> = {};
  for (const key of Object.keys(SETTINGS) as SettingKey[]) if (flags[key] !== undefined) picked[key] = flags[key];
  return loadConfig(process.env, picked);
}

function loggerFor(config: Config, role: string): Logger {
  const secrets = new SecretRegistry();
  for (const key of parseApiKeys(config.apiKeys).keys()) secrets.add(key);
  // Model credentials handed to coding agents, and every tenant secret (tokenEnv, keyEnv) in
  // DEVTEAM_SECRET_<TENANT>__…: the environment is fixed at start-up, so this covers every value a
  // project can read, whatever field holds it.
  for (const value of workerSecretValues(process.env)) secrets.add(value);
  return createLogger({ level: config.logLevel, secrets, base: { role } });
}

async function run(roles: Roles, role: string, flags: Record<string, unknown>): Promise<void> {
  const config = configFrom(flags);
  if (role !== 'serve' && !isDistributed(config)) {
    throw new ConfigError([
      `devteam ${role} needs REDIS_URL (and DATABASE_URL): without Redis the queue is in-process and only \`devteam serve\` can use it`,
    ]);
  }
  if (role !== 'serve' && !config.databaseUrl) {
    throw new ConfigError([`DATABASE_URL: required by devteam ${role}; the embedded database belongs to one process (use devteam serve)`]);
  }
  const log = loggerFor(config, role);
  let inspection: Inspection | undefined;
  if (flags.inspect !== undefined && roles.worker) {
    try {
      inspection = startInspection(flags.inspect === true ? 'sky' : String(flags.inspect), log);
    } catch (error) {
      throw new ConfigError([(error as Error).message]);
    }
  }
  const runtime = await startRuntime(config, roles, log, { inspect: inspection?.inspect });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      log.flush();
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down: no new requests, draining jobs');
    const deadline = setTimeout(() => {
      log.error('shutdown did not finish in time: exiting');
      log.flush();
      process.exit(1);
    }, config.shutdownTimeoutMs * 2 + 5_000);
    deadline.unref();
    void runtime.stop().then(() => {
      inspection?.stop();
      log.info('stopped');
      log.flush(() => process.exit(0));
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function runMigrate(flags: { to?: string; status?: boolean } & Record<string, unknown>): Promise<void> {
  const config = configFrom(flags);
  const log = loggerFor(config, 'migrate');
  const db = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, log });
  try {
    if (flags.status) {
      const rows = await migrationStatus(db.sql);
      for (const m of rows) {
        const id = String(m.id).padStart(3, '0');
        process.stdout.write(`${id}  ${m.status.padEnd(8)}  ${m.appliedAt?.toISOString() ?? '-'.padEnd(24)}  ${m.name}\n`);
      }
      return;
    }
    const to = flags.to === undefined ? undefined : Number(flags.to);
    if (to !== undefined && !Number.isInteger(to)) throw new ConfigError([`--to: expected a migration number, got "${flags.to}"`]);
    const result = await migrate(db.sql, { to, log });
    process.stdout.write(result.applied.length ? `applied: ${result.applied.join(', ')}\n` : 'nothing to apply: the database is up to date\n');
  } finally {
    await db.close();
    log.flush();
  }
}

async function runDoctorCommand(flags: { json?: boolean } & Record<string, unknown>): Promise<void> {
  const config = configFrom(flags);
  // No logger: the report is the output; a sandbox that cannot start is a line in it.
  // The same sandbox settings as runs use, so "ok" here means a run finds the same tools.
  const sandbox = sandboxOf(config, { prefix: 'devteam-doctor' });
  try {
    const report = await runDoctor({ driver: config.sandbox, sandbox, agentPaths: splitAgentPath(config.agentPath) });
    process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctor(report));
    process.exitCode = report.ok ? 0 : 1;
  } finally {
    await sandbox?.close();
  }
}

const ALL = Object.keys(SETTINGS) as SettingKey[];
const DB_ONLY: SettingKey[] = ['databaseUrl', 'dataDir', 'logLevel'];
const SANDBOX_ONLY: SettingKey[] = ['sandbox', 'sandboxImage', 'sandboxNetwork', 'sandboxBinds', 'agentPath', 'dataDir', 'repoCacheDir', 'logLevel'];

const program = new Command('devteam')
  .description('DevTeam Runner: works through a repository task list with a coding agent, verifies, merges and pushes.')
  .showHelpAfterError();

const INSPECT = ['--inspect [target]', 'stream the project machines to the Stately inspector: sky (default), local[:port] or a ws:// URL'] as const;

withSettings(program.command('serve').description('API and worker in one process (embedded by default)').option(...INSPECT), ALL).action((flags) =>
  run({ api: true, worker: true }, 'serve', flags),
);
withSettings(program.command('api').description('API only (distributed: needs DATABASE_URL and REDIS_URL)'), ALL).action((flags) =>
  run({ api: true, worker: false }, 'api', flags),
);
withSettings(program.command('worker').description('worker only (distributed: needs DATABASE_URL and REDIS_URL)').option(...INSPECT), ALL).action((flags) =>
  run({ api: false, worker: true }, 'worker', flags),
);
withSettings(
  program
    .command('migrate')
    .description('apply the SQL migrations in sql/ (each in a transaction), or show their status')
    .option('--to <n>', 'apply up to and including migration n')
    .option('--status', 'list applied, pending and unknown migrations'),
  DB_ONLY,
).action((flags) => runMigrate(flags));

withSettings(
  program
    .command('doctor')
    .description('report git, node/npm, the docker engine, bubblewrap and agent CLIs on the host and inside the sandbox; exit 1 when a required one is missing')
    .option('--json', 'print the report as JSON'),
  SANDBOX_ONLY,
).action((flags) => runDoctorCommand(flags));

program
  .command('watch <projectId>')
  .description("follow a project's live stream (status and agent/build output) until it completes, fails or stops")
  .option('--url <url>', 'server base URL', `http://127.0.0.1:${process.env.PORT ?? 8080}`)
  .option('--token <key>', 'API key (env DEVTEAM_API_KEY)', process.env.DEVTEAM_API_KEY)
  .option('--json', 'print raw frames as JSON lines')
  .action(async (projectId: string, flags: { url: string; token?: string; json?: boolean }) => {
    process.exitCode = await runWatch(projectId, flags);
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`devteam: ${error.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  const e = error as { code?: string; message?: string };
  process.stderr.write(redactText(`devteam: ${e.code ? `[${e.code}] ` : ''}${e.message ?? String(error)}\n`));
  process.exit(1);
});

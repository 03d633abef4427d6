// The "resume anywhere" proof (decision 0025): `--kills` 5-task runs (default 100), the owning worker
// of each SIGKILLed at a random moment, on workers that share nothing but Postgres, Redis and the
// remote. Prints the machine, each run, and the counts: runs completed, tasks whose change is on the
// remote exactly once, steps re-run per kill. Exit 1 when a run did not complete or a change is not
// on the remote exactly once.
//   npm run build && node dist/bench/kill-loop.js --kills 100 [--workers 2] [--ttl 1500] [--minutes 60] [--seed N]
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { killLoop, rerunDistribution } from './kill-loop-run.js';
import { ADMIN_URL, REDIS_URL } from './service.js';
import { machine } from './stats.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '100' },
    tasks: { type: 'string', default: '5' },
    workers: { type: 'string', default: '2' },
    ttl: { type: 'string', default: '1500' },
    minutes: { type: 'string', default: '60' },
    seed: { type: 'string' },
  },
});
const seed = values.seed ? Number(values.seed) >>> 0 : (Date.now() ^ (process.pid << 8)) >>> 0;
console.log(`machine: ${machine()}`);
console.log(`kill loop: ${values.kills} kills, ${values.tasks}-task runs, ${values.workers} workers (own data directories), lease TTL ${values.ttl} ms, seed ${seed}`);
const result = await killLoop({
  runs: Number(values.kills),
  killsPerRun: 1,
  tasks: Number(values.tasks),
  workers: Number(values.workers),
  leaseTtlMs: Number(values.ttl),
  deadlineMs: Number(values.minutes) * 60_000,
  runTimeoutMs: 90_000,
  agentSleepSec: 0.3,
  cli: fileURLToPath(new URL('../src/cli.js', import.meta.url)),
  seed,
  adminUrl: ADMIN_URL,
  redisUrl: REDIS_URL,
  log: (line) => console.log(line),
});
const phases: Record<string, number> = {};
for (const r of result.records) for (const p of r.phases) phases[p] = (phases[p] ?? 0) + 1;
const takeovers = result.records.flatMap((r) => r.takeoverMs).sort((a, b) => a - b);
console.log('');
console.log(`runs completed:            ${result.completed}/${result.runs}`);
console.log(`kills:                     ${result.kills} (phase of the owner when killed: ${JSON.stringify(phases)})`);
console.log(`tasks on the remote once:  ${result.tasksOnceOnRemote}/${result.tasksTotal}`);
console.log(`steps re-run per kill:     ${JSON.stringify(rerunDistribution(result.records))} (re-runs: kills)`);
console.log(`takeover after the kill:   p50 ${takeovers[Math.floor(takeovers.length / 2)] ?? '-'} ms, max ${takeovers.at(-1) ?? '-'} ms`);
console.log(`attempt refs left behind:  ${result.hiddenRefsLeft}`);
console.log(`duration:                  ${Math.round(result.durationMs / 1000)} s`);
if (result.problems.length) console.log(`problems:\n  ${result.problems.join('\n  ')}`);
process.exit(result.problems.length === 0 && result.completed === result.runs && result.tasksOnceOnRemote === result.tasksTotal ? 0 : 1);

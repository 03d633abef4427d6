// Resume anywhere (decision 0025), at CI size: workers on separate data directories (a takeover never
// finds the dead owner's checkout), 5-task runs one after another, the owner SIGKILLed 5 times in each
// at random moments and restarted. Every run must complete with each task's change on the remote exactly
// once and no attempt ref left behind. The 100-kill version is bench/kill-loop.ts.
import { describe, expect, it } from 'vitest';
import { killLoop, rerunDistribution } from '../../bench/kill-loop-run.js';
import { CLI } from '../support/cli-process.js';
import { LONG_MODE, seedFrom } from '../support/prng.js';
import { ADMIN_URL, REDIS_URL } from '../support/services.js';

// CI: 2 runs, the owner killed 5 times in each (10 kills); long: 10 runs × 5.
const RUNS = LONG_MODE ? 10 : 2;
const KILLS_PER_RUN = 5;
const KILLS = RUNS * KILLS_PER_RUN;
const BUDGET_MS = LONG_MODE ? 1_800_000 : 420_000;

describe(`${KILLS} SIGKILLs of the owning worker, ${KILLS_PER_RUN} per 5-task run, on workers that share nothing but Postgres, Redis and the remote`, () => {
  const seed = seedFrom('DEVTEAM_FAULT_SEED', 'kill loop');

  it(`completes every run with each task's change on the remote exactly once (seed ${seed})`, async () => {
    const result = await killLoop({
      runs: RUNS,
      killsPerRun: KILLS_PER_RUN,
      tasks: 5,
      workers: 2,
      leaseTtlMs: 1_500,
      deadlineMs: BUDGET_MS - 200_000,
      runTimeoutMs: 90_000,
      agentSleepSec: 0.3,
      cli: CLI,
      seed,
      adminUrl: ADMIN_URL,
      redisUrl: REDIS_URL,
      log: (line) => console.log(line),
    });
    console.log(
      `kill loop: ${result.completed}/${result.runs} runs completed, ${result.kills} kills, tasks on the remote once ${result.tasksOnceOnRemote}/${result.tasksTotal}, ` +
        `steps re-run per run of ${KILLS_PER_RUN} kills ${JSON.stringify(rerunDistribution(result.records))}, hidden refs left ${result.hiddenRefsLeft}, ${Math.round(result.durationMs / 1000)} s`,
    );
    expect(result.problems).toEqual([]);
    expect(result.kills).toBeGreaterThanOrEqual(KILLS);
    expect(result.completed).toBe(result.runs);
    expect(result.tasksOnceOnRemote).toBe(result.tasksTotal);
    expect(result.hiddenRefsLeft).toBe(0);
  }, BUDGET_MS);
});

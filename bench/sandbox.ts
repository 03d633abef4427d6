// Per-project sandbox start-up: cold start (a new project's sandbox until its first command has
// run) and reuse (ensure on a running sandbox plus a command), per driver, against the spec's
// floor (p50 ≤ 5 s, p95 ≤ 10 s) and our targets (cold ≤ 2 s, reuse ≤ 100 ms).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BwrapSandbox, DockerSandbox, type Sandbox } from '../src/infra/sandbox/index.js';
import { machine, percentile, summary } from './stats.js';

const { values } = parseArgs({
  options: {
    drivers: { type: 'string', default: 'local,docker' },
    runs: { type: 'string', default: '20' },
    image: { type: 'string', default: 'devteam-sandbox:local' },
  },
});
const RUNS = Number(values.runs);
const prefix = `devteam-bench-${crypto.randomUUID().slice(0, 6)}`;

function make(driver: string): Sandbox {
  if (driver === 'docker') return new DockerSandbox({ image: values.image!, prefix, network: 'host', binds: ['/usr:/usr:ro'] });
  if (driver === 'local') return new BwrapSandbox({ prefix });
  throw new Error(`unknown driver ${driver}`);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

function verdict(name: string, samples: number[], target: number): string {
  const s = [...samples].sort((a, b) => a - b);
  const floor = percentile(s, 50) <= 5_000 && percentile(s, 95) <= 10_000;
  const ours = percentile(s, 95) <= target;
  return `  ${name}: spec floor ${floor ? 'met' : 'MISSED'}; target p95 ≤ ${target} ms ${ours ? 'met' : 'MISSED'}`;
}

console.log(machine());
const workspace = await mkdtemp(join(tmpdir(), 'devteam-bench-ws-'));
try {
  for (const driver of values.drivers!.split(',')) {
    const sandbox = make(driver);
    const cold: number[] = [];
    const coldEnsure: number[] = [];
    const reuse: number[] = [];
    const reuseEnsure: number[] = [];
    let memoryProof = '';
    const limits = { cpus: 1, memoryMb: 1024 };
    try {
      for (let i = 0; i < RUNS; i++) {
        const spec = { tenant: 'bench', projectId: `cold-${i}`, workspace, limits };
        let ensured = 0;
        cold.push(
          await timed(async () => {
            const t0 = performance.now();
            const { sandbox: project } = await sandbox.ensure(spec);
            ensured = performance.now() - t0;
            await project.exec(['true'], { timeoutMs: 30_000 });
          }),
        );
        coldEnsure.push(ensured);
      }
      const spec = { tenant: 'bench', projectId: 'cold-0', workspace, limits };
      for (let i = 0; i < RUNS * 5; i++) {
        let ensured = 0;
        reuse.push(
          await timed(async () => {
            const t0 = performance.now();
            const { sandbox: project, reused } = await sandbox.ensure(spec);
            ensured = performance.now() - t0;
            if (!reused) throw new Error('expected a reused sandbox');
            await project.exec(['true'], { timeoutMs: 30_000 });
          }),
        );
        reuseEnsure.push(ensured);
      }
      // Proof that the memory limit holds: 1.5 GiB of touched pages under a 1 GiB limit.
      const { sandbox: project } = await sandbox.ensure(spec);
      const hog = 'const a = []; for (let i = 0; i < 24; i++) a.push(Buffer.alloc(64 << 20, 1)); console.log("survived")';
      const t0 = performance.now();
      const oom = await project.exec(['node', '--max-old-space-size=4096', '-e', hog], { timeoutMs: 60_000 });
      const after = await project.exec(['echo', 'alive'], { timeoutMs: 10_000 });
      memoryProof = `memory limit 1024 MiB: a 1536 MiB allocation ended "${oom.outcome}" (exit ${oom.exitCode}) after ${(performance.now() - t0).toFixed(0)} ms; next command: ${after.outcome} "${after.stdout.trim()}"`;
    } finally {
      for (let i = 0; i < RUNS; i++) await sandbox.remove('bench', `cold-${i}`);
      await sandbox.close();
    }
    console.log(`\n== ${driver}`);
    console.log(summary('cold: ensure', coldEnsure, 30));
    console.log(summary('cold: ensure + first exec', cold, 30));
    console.log(summary('reuse: ensure', reuseEnsure, 30));
    console.log(summary('reuse: ensure + exec true', reuse, 30));
    console.log(verdict('cold start', cold, 2_000));
    console.log(verdict('reuse', reuse, 100));
    console.log(`  ${memoryProof}`);
  }
} finally {
  await rm(workspace, { recursive: true, force: true });
}

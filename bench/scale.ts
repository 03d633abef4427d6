// Many projects at once, side by side in one run (issue 14 §3), against the real service:
//   a. makespan: 12 projects × 3 chained tasks, a 1 s `command` agent, a trivial build, embedded,
//      DEVTEAM_MAX_PROJECTS 8 — against the ideal ⌈12 / 8⌉ × 3 × 1 s (design.md: ≤ 1.5×)
//   b. runner overhead per task (agent and build excluded, see scale-run.ts) at 1, 10 and 50
//      concurrent projects, embedded and distributed (2 workers) — design.md: ≤ 500 ms at 1, ≤ 1 s at 50
//   c. verify warm vs cold: a vite + TypeScript project's `npm ci` + build, the first task (cold:
//      empty npm cache) against the second (warm) — design.md: warm ≤ 40 % of cold (see verify-bench.ts)
//
//   node dist/bench/scale.js [--quick] [--sections a,b,c] [--levels 1,10,50] [--modes embedded,distributed]
//                            [--profile DIR]  (the service processes write .cpuprofile files there)
// --quick: fewer tasks (b: 1 and 10 projects only in distributed); exits 1 when a gate fails. Gates
// scale with the machine's speed (bench/machine-speed.ts).
import { parseArgs } from 'node:util';
import { machineSpeed, scaledLatency } from './machine-speed.js';
import { runScenario, type ScenarioOptions, type TaskFigure } from './scale-run.js';
import { machine, percentile } from './stats.js';
import { verifyWarmCold } from './verify-bench.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sections: { type: 'string', default: 'a,b,c' },
    profile: { type: 'string' },
    levels: { type: 'string' },
    modes: { type: 'string', default: 'embedded,distributed' },
  },
});
const QUICK = values.quick;
const SECTIONS = new Set(values.sections!.split(','));
const AGENT_S = 1;
const AGENT = ['sh', '-c', `sleep ${AGENT_S}; echo x >> NOTES.md`];
const BUILD = [['git', '--version']];
const profileArgs = values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : [];

console.log(machine());
const speed = await machineSpeed();
console.log(speed.describe());
const gates: Array<{ name: string; ok: boolean; detail: string }> = [];
const gate = (name: string, ok: boolean, detail: string) => gates.push({ name, ok, detail });

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function overheadLine(label: string, tasks: TaskFigure[]): { p50: number; p95: number; mean: number } {
  const later = tasks.filter((t) => t.index > 0).map((t) => t.overheadMs).sort((a, b) => a - b);
  const first = tasks.filter((t) => t.index === 0).map((t) => t.overheadMs).sort((a, b) => a - b);
  const mean = later.reduce((s, x) => s + x, 0) / Math.max(1, later.length);
  const p50 = percentile(later, 50);
  const p95 = percentile(later, 95);
  console.log(
    `${label.padEnd(34)} overhead per task p50 ${p50.toFixed(0).padStart(5)} ms  p95 ${p95.toFixed(0).padStart(5)} ms  mean ${mean.toFixed(0).padStart(5)} ms  (n=${later.length});  first task (queue + clone + cold sandbox) p50 ${percentile(first, 50).toFixed(0)} ms`,
  );
  return { p50, p95, mean };
}

async function scenario(o: ScenarioOptions) {
  const result = await runScenario({ ...o, workerNodeArgs: profileArgs });
  if (result.ends.failed || result.ends.stopped) throw new Error(`${o.label}: ${JSON.stringify(result.ends)}; first error: ${result.firstError}`);
  return result;
}

try {
  if (SECTIONS.has('a')) {
    const projects = 12;
    const tasks = 3;
    const maxProjects = 8;
    console.log(`\n== a. makespan: ${projects} projects × ${tasks} chained tasks, agent ${AGENT_S} s, build \`git --version\`, embedded, local sandbox, DEVTEAM_MAX_PROJECTS ${maxProjects}`);
    const alone = await scenario({ label: 'alone', mode: 'embedded', projects: 1, tasks, agent: AGENT, verify: BUILD, maxProjects });
    const r = await scenario({ label: 'burst', mode: 'embedded', projects, tasks, agent: AGENT, verify: BUILD, maxProjects });
    const ideal = Math.ceil(projects / maxProjects) * tasks * AGENT_S * 1000;
    const sorted = [...r.projectMs].sort((a, b) => a - b);
    const ratio = r.makespanMs / ideal;
    console.log(`one project alone: ${fmt(alone.projectMs[0]!)}`);
    console.log(
      `${projects} at once: makespan ${fmt(r.makespanMs)} = ${ratio.toFixed(2)}× the ideal ${fmt(ideal)} (target ≤ 1.5×); per project p50 ${fmt(percentile(sorted, 50))}, fastest ${fmt(sorted[0]!)}, slowest ${fmt(sorted.at(-1)!)}`,
    );
    overheadLine('  (its tasks)', r.tasks);
    // A ratio of wall times: it does not scale with the machine's speed beyond the agent's fixed second.
    gate('makespan ≤ 1.5× ideal (gate 2×)', ratio <= 2, `${ratio.toFixed(2)}×`);
  }

  if (SECTIONS.has('b')) {
    const tasks = QUICK ? 3 : 4;
    console.log(`\n== b. runner overhead per task (wall − agent − build; tasks after each project's first), ${tasks} chained tasks per project, agent ${AGENT_S} s`);
    const levels = values.levels ? values.levels.split(',').map(Number) : QUICK ? [1, 10] : [1, 10, 50];
    for (const mode of values.modes!.split(',') as Array<'embedded' | 'distributed'>) {
      for (const projects of levels) {
        const r = await scenario({ label: `${mode}-${projects}`, mode, workers: 2, projects, tasks, agent: AGENT, verify: BUILD });
        const o = overheadLine(`${mode}${mode === 'distributed' ? ' (2 workers)' : ''}, ${projects} project${projects > 1 ? 's' : ''}`, r.tasks);
        const target = projects === 1 ? 500 : 1000;
        if (projects !== 10) gate(`overhead ${mode} at ${projects} p50 ≤ ${target} ms (gate ${scaledLatency(2 * target, speed)} ms)`, o.p50 <= scaledLatency(2 * target, speed), `${o.p50.toFixed(0)} ms`);
      }
    }
  }

  if (SECTIONS.has('c')) {
    console.log(`\n== c. verify warm vs cold: vite + TypeScript project, verify \`npm ci\` + \`npm run build\`, 2 chained tasks`);
    const v = await verifyWarmCold();
    console.log(v.describe());
    gate('verify warm ≤ 40 % of cold (gate 50 %)', v.ratio <= 0.5, `${(v.ratio * 100).toFixed(0)} %`);
  }
} catch (error) {
  console.error(error);
  process.exitCode = 2;
}

console.log('\n== gates');
for (const g of gates) console.log(`${g.ok ? 'ok    ' : 'FAILED'} ${g.name}: ${g.detail}`);
if (QUICK && gates.some((g) => !g.ok)) process.exitCode = 1;

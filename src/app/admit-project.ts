// Refuses at initialize what no worker could run, instead of accepting it and failing the run a
// moment later: the project's sandbox driver must start, its agent CLI must be inside that
// sandbox, and its model key variable must be set — judged from the live workers' announced
// capabilities (a cached probe each), never by calling an engine per request.
import type { WorkerCapabilities, WorkerRegistry } from '../infra/workers/index.js';
import { AGENT_CLIS, agentKeyVars, type InitializeBody } from '../project/index.js';
import { ApiError } from './errors.js';
import { storeCall } from './store-call.js';

export interface AdmissionDeps {
  workers: WorkerRegistry;
  /**
   * Embedded mode: the one worker is this process's, so what it lacks is said as what it is
   * (sandbox_unavailable, agent_unavailable). Distributed: no_capable_worker, naming each live
   * worker's gaps.
   */
  singleWorker: boolean;
}

/** One thing a worker lacks to run the project. */
export interface Gap {
  kind: 'sandbox' | 'agent_cli' | 'model_key';
  message: string;
  /** What to install, start or set. */
  remedy: string;
}

/** What `worker` lacks to run a project with this agent (empty: it can). */
export function gapsOf(worker: WorkerCapabilities, agent: InitializeBody['agent']): Gap[] {
  if (!worker.sandbox.available) {
    return [{ kind: 'sandbox', message: worker.sandbox.problem ?? `the ${worker.driver} sandbox cannot start`, remedy: worker.sandbox.remedy ?? '' }];
  }
  const gaps: Gap[] = [];
  const cli = AGENT_CLIS[agent.preset];
  if (cli !== null && !worker.agents[cli]) {
    gaps.push({
      kind: 'agent_cli',
      message: `the ${agent.preset} agent's CLI "${cli}" is not found inside the ${worker.driver} sandbox`,
      remedy: `install ${cli} on the service's PATH or name its folder in DEVTEAM_AGENT_PATH`,
    });
  }
  const keys = agentKeyVars(agent);
  if (keys.length > 0 && !keys.some((k) => worker.keys.includes(k))) {
    gaps.push({
      kind: 'model_key',
      message: `the ${agent.preset} agent needs ${keys.join(' or ')} in the worker's environment`,
      remedy: `set ${keys[0]} for the worker`,
    });
  }
  return gaps;
}

/** Throws the refusal when no live worker can run the project's agent; returns when one can. */
export async function admitProject(deps: AdmissionDeps, body: InitializeBody): Promise<void> {
  const workers = await storeCall(() => deps.workers.live());
  const judged = workers.map((worker) => ({ worker, gaps: gapsOf(worker, body.agent) }));
  if (judged.some((j) => j.gaps.length === 0)) return;
  const only = judged.length === 1 ? judged[0]! : undefined;
  if (deps.singleWorker && only) throw singleWorkerRefusal(only.worker, only.gaps, body);
  const details = {
    workers: judged.map(({ worker, gaps }) => ({ workerId: worker.workerId, host: worker.host, driver: worker.driver, missing: gaps })),
  };
  if (judged.length === 0) {
    throw new ApiError('no_capable_worker', 'no worker is running: start one (devteam worker) and try again', details);
  }
  const summary = judged.map(({ worker, gaps }) => `${worker.host} (${worker.workerId}): ${gaps.map((g) => g.message).join('; ')}`).join(' | ');
  throw new ApiError('no_capable_worker', `no live worker can run this project — ${summary}`, details);
}

function singleWorkerRefusal(worker: WorkerCapabilities, gaps: Gap[], body: InitializeBody): ApiError {
  const sandbox = gaps.find((g) => g.kind === 'sandbox');
  if (sandbox) {
    return new ApiError('sandbox_unavailable', `${sandbox.message}; ${sandbox.remedy}`, { driver: worker.driver, problem: sandbox.message, remedy: sandbox.remedy });
  }
  return new ApiError('agent_unavailable', gaps.map((g) => `${g.message}: ${g.remedy}`).join('; '), {
    preset: body.agent.preset,
    field: gaps.some((g) => g.kind === 'agent_cli') || !body.agent.keyEnv ? 'agent.preset' : 'agent.keyEnv',
    missing: gaps,
  });
}

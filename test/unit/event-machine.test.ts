import { createActor, fromPromise, toPromise } from 'xstate';
import { describe, expect, it } from 'vitest';
import { eventMachine, type EventMachineInput, type Plan, type TaskContext } from '../../src/machines/index.js';

const input: EventMachineInput = { eventId: 'e1', projectId: 'p1', correlationId: 'c1', payload: {} };

function run(select: () => Promise<Plan>, prep: (plan: Plan) => Promise<TaskContext>) {
  const visited: string[] = [];
  const machine = eventMachine.provide({
    actors: {
      select: fromPromise<Plan, EventMachineInput>(() => select()),
      prep: fromPromise<TaskContext, { input: EventMachineInput; plan: Plan }>(({ input: i }) => prep(i.plan)),
    },
  });
  const actor = createActor(machine, { input });
  actor.subscribe((s) => visited.push(String(s.value)));
  actor.start();
  return toPromise(actor).then((output) => ({ output, visited, final: String(actor.getSnapshot().value) }));
}

const plan: Plan = { pipeline: ['select', 'prep'], taskId: null };

describe('event machine', () => {
  it('goes select → prep → prepared and outputs the task context PREP produced', async () => {
    const context = { phase: 'prep', plan } as unknown as TaskContext;
    const result = await run(async () => plan, async (p) => ({ ...context, plan: p }));
    expect(result.visited).toEqual(['select', 'prep', 'prepared']);
    expect(result.output).toEqual({ taskContext: { ...context, plan }, error: null });
  });

  it('ends failed with the reason when SELECT fails, without running PREP', async () => {
    let prepRan = false;
    const result = await run(
      async () => {
        throw new Error('no task list');
      },
      async () => {
        prepRan = true;
        return {} as TaskContext;
      },
    );
    expect(result.final).toBe('failed');
    expect(result.output.error).toBe('no task list');
    expect(prepRan).toBe(false);
  });

  it('ends failed when PREP fails', async () => {
    const result = await run(async () => plan, async () => {
      throw new Error('disk full');
    });
    expect(result.visited).toEqual(['select', 'prep', 'failed']);
    expect(result.output).toEqual({ taskContext: null, error: 'disk full' });
  });

  it('fails loudly when a step was not provided', async () => {
    const actor = createActor(eventMachine, { input }).start();
    const output = await toPromise(actor);
    expect(output.error).toMatch(/step "select" was not provided/);
  });
});

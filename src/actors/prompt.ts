// The prompt handed to a coding agent for one task attempt: deterministic (same task, attempt
// and feedback → byte-identical text), built only from the task list and the last failure.
import type { Task } from '../infra/tasks/index.js';

export interface PromptInput {
  task: Task;
  attempt: number;
  feedback: string | null;
}

export function renderPrompt({ task, attempt, feedback }: PromptInput): string {
  const lines = [`# Task ${task.id}: ${task.title}`, ''];
  if (task.dependencies.length) lines.push(`Already done before this task: ${task.dependencies.join(', ')}.`, '');
  if (task.steps.length) {
    lines.push('## Steps', '');
    for (const step of task.steps) lines.push(`- ${step.id} ${step.text}`);
    lines.push('');
  }
  if (task.criteria.length) {
    lines.push('## Acceptance criteria', '');
    for (const c of task.criteria) lines.push(`${c.index}. ${c.text}`);
    lines.push('');
  }
  lines.push('Change the files in this repository to complete the task. Do not commit: the runner commits.', '');
  if (feedback) lines.push(`## Attempt ${attempt}: the previous attempt failed`, '', '```', feedback, '```', '');
  return `${lines.join('\n')}`;
}

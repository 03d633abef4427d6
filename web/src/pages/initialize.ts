// The form that initializes a project: each input is named after the API field it fills, so the
// API's 422 details (`{field, message}`) land next to their input (a nested field such as
// `verify.commands.0` next to `verify.commands`); anything else is shown above the buttons.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, ApiProblem } from '../api.js';

const PRESETS = ['claude-code', 'codex', 'gemini', 'opencode', 'aider', 'command'];

/** A command line as argv: a JSON array, or words split on spaces. */
export function argvOf(line: string): string[] {
  const text = line.trim();
  if (text.startsWith('[')) {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (Array.isArray(parsed)) return parsed.map(String);
    } catch {
      // not JSON: taken as words, and the API says what is wrong with them
    }
  }
  return text.split(/\s+/).filter(Boolean);
}

type Values = Record<string, string>;

const FIELDS: Array<{ name: string; label: string; hint?: string; kind?: 'select' | 'textarea' | 'number' }> = [
  { name: 'projectId', label: 'project id' },
  { name: 'repository.url', label: 'repository URL' },
  { name: 'repository.branch', label: 'branch' },
  { name: 'tasks.path', label: 'task list path', hint: 'default ai_docs/tasks/task_list.md' },
  { name: 'agent.preset', label: 'agent preset', kind: 'select' },
  { name: 'agent.model', label: 'model', hint: "optional: the preset's default" },
  { name: 'agent.command', label: 'agent command', hint: 'preset "command" only: words, or a JSON array; {promptFile} is replaced' },
  { name: 'agent.timeoutSec', label: 'agent timeout (s)', kind: 'number' },
  { name: 'verify.commands', label: 'verify commands', hint: 'one per line', kind: 'textarea' },
  { name: 'verify.timeoutSec', label: 'verify timeout (s)', kind: 'number' },
  { name: 'limits.cpus', label: 'CPUs', kind: 'number' },
  { name: 'limits.memoryMb', label: 'memory (MiB)', kind: 'number' },
];

function bodyOf(v: Values): Record<string, unknown> {
  const num = (s: string | undefined) => (s && s.trim() ? Number(s) : undefined);
  const text = (s: string | undefined) => (s && s.trim() ? s.trim() : undefined);
  const prune = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined));
  const agent = prune({
    preset: text(v['agent.preset']),
    model: text(v['agent.model']),
    command: text(v['agent.command']) ? argvOf(v['agent.command']!) : undefined,
    timeoutSec: num(v['agent.timeoutSec']),
  });
  const commands = (v['verify.commands'] ?? '').split('\n').filter((l) => l.trim()).map(argvOf);
  const verify = prune({ commands: commands.length ? commands : undefined, timeoutSec: num(v['verify.timeoutSec']) });
  const limits = prune({ cpus: num(v['limits.cpus']), memoryMb: num(v['limits.memoryMb']) });
  return prune({
    projectId: v.projectId ?? '',
    repository: prune({ url: v['repository.url'] ?? '', branch: text(v['repository.branch']) }),
    tasks: text(v['tasks.path']) ? { path: text(v['tasks.path']) } : undefined,
    agent,
    verify: Object.keys(verify).length ? verify : undefined,
    limits: Object.keys(limits).length ? limits : undefined,
  });
}

/** The form input an API field belongs to: the longest input name that is the field or a prefix of it. */
export function inputOf(field: string): string | null {
  let best: string | null = null;
  for (const { name } of FIELDS) if ((field === name || field.startsWith(`${name}.`)) && (!best || name.length > best.length)) best = name;
  return best;
}

export function InitializePage({ onStarted }: { onStarted: (projectId: string) => void }) {
  const [values, setValues] = useState<Values>({ 'repository.branch': 'main', 'agent.preset': 'claude-code', 'verify.commands': 'npm ci\nnpm run build' });
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (name: string) => (e: Event) => setValues({ ...values, [name]: (e.target as HTMLInputElement).value });

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setGeneral(null);
    try {
      const started = await api.initialize(bodyOf(values));
      onStarted(started.projectId);
    } catch (error) {
      const problem = error instanceof ApiProblem ? error : new ApiProblem(0, 'unknown', String(error));
      const byField: Record<string, string[]> = {};
      const rest: string[] = [];
      for (const issue of problem.fields) {
        const input = inputOf(issue.field);
        if (input) (byField[input] ??= []).push(issue.field === input ? issue.message : `${issue.field}: ${issue.message}`);
        else rest.push(`${issue.field}: ${issue.message}`);
      }
      setErrors(byField);
      if (problem.fields.length === 0 || rest.length) setGeneral(`${problem.status || ''} ${problem.code}: ${rest.length ? rest.join('; ') : problem.message}`.trim());
    } finally {
      setBusy(false);
    }
  };

  return html`<form class="initialize" onSubmit=${submit} novalidate>
    <h2>Initialize a project</h2>
    ${FIELDS.map(
      (f) => html`<div class=${`field${errors[f.name] ? ' invalid' : ''}`} data-field=${f.name}>
        <label for=${`f-${f.name}`}>${f.label}</label>
        ${f.kind === 'select'
          ? html`<select id=${`f-${f.name}`} name=${f.name} value=${values[f.name] ?? ''} onChange=${set(f.name)}>${PRESETS.map((p) => html`<option value=${p}>${p}</option>`)}</select>`
          : f.kind === 'textarea'
            ? html`<textarea id=${`f-${f.name}`} name=${f.name} rows="3" value=${values[f.name] ?? ''} onInput=${set(f.name)}></textarea>`
            : html`<input id=${`f-${f.name}`} name=${f.name} type=${f.kind === 'number' ? 'number' : 'text'} value=${values[f.name] ?? ''} onInput=${set(f.name)} />`}
        ${f.hint ? html`<small class="muted">${f.hint}</small>` : ''}
        ${(errors[f.name] ?? []).map((m) => html`<div class="field-error" role="alert">${m}</div>`)}
      </div>`,
    )}
    ${general ? html`<p class="error" role="alert" data-testid="form-error">${general}</p>` : ''}
    <button type="submit" disabled=${busy}>${busy ? 'starting…' : 'initialize'}</button>
  </form>`;
}

// The prompt handed to a coding agent for one task attempt, filled into the templates in
// ai_docs/prompts: a pure function of its input, so the same input gives a byte-identical prompt.
import type { Task } from './task-model.js';

/** The templates' place in this package, relative to its root. */
export const PROMPT_TEMPLATES_PATH = 'ai_docs/prompts';
/** The end of a failing command's output is where the error is; 12 KiB keeps it without drowning the task. */
export const DEFAULT_FEEDBACK_BUDGET_BYTES = 12 * 1024;

export type RelevantReason = 'mentioned' | 'basename' | 'key';
export type SkipReason = 'binary' | 'too-large' | 'over-budget' | 'not-a-file';

/** Plain data (JSON-serialisable, no Maps, no Dates) so that rendering it stays a pure function. */
export interface RepoContext {
  /** Tracked paths, sorted by UTF-16 code unit (locale-independent), at most maxFiles of them. */
  files: string[];
  /** How many files are tracked in all; more than files.length when the list was capped. */
  totalFiles: number;
  /** Whole files, in inclusion order: mentioned by path, then by name, then key files. */
  relevant: Array<{ path: string; reason: RelevantReason; content: string }>;
  /** Relevant files whose contents were left out, and why: the agent can still open them. */
  skipped: Array<{ path: string; reason: SkipReason }>;
  budgetBytes: number;
  usedBytes: number;
}

export interface PromptTemplates {
  /** The whole prompt; `{{retry}}` is where the retry section goes. */
  implement: string;
  /** Appended (through `{{retry}}`) when the attempt follows a failed one. */
  retry: string;
}

export interface PromptDependency {
  id: string;
  title: string;
  /** The commit that completed it, when there is one. */
  commit: string | null;
}

export interface PromptInput {
  task: Task;
  /** 1-based. */
  attempt: number;
  /** What made the previous attempt fail (the verify command's output), or null on a first attempt. */
  feedback: string | null;
  /** The task's dependencies and what they produced, in the order given. */
  dependencies: PromptDependency[];
  context: RepoContext;
  templates: PromptTemplates;
  feedbackBudgetBytes?: number;
}

export class PromptTemplateError extends Error {
  constructor(
    readonly code: 'prompt_template_unreadable' | 'prompt_template_invalid',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PromptTemplateError';
  }
}

const PLACEHOLDER = /\{\{\s*([a-zA-Z][\w.]*)\s*\}\}/g;
const IMPLEMENT_KEYS = ['task.id', 'task.title', 'task.phaseId', 'attempt', 'dependencies', 'steps', 'criteria', 'repo.files', 'repo.relevant', 'retry'] as const;
const RETRY_KEYS = ['task.id', 'attempt', 'previousAttempt', 'feedback'] as const;
type ImplementKey = (typeof IMPLEMENT_KEYS)[number];
type RetryKey = (typeof RETRY_KEYS)[number];

export function renderPrompt(input: PromptInput): string {
  const { task, attempt, feedback, dependencies, context, templates } = input;
  const retry =
    feedback === null
      ? ''
      : fill<RetryKey>(templates.retry, {
          'task.id': task.id,
          attempt: String(attempt),
          previousAttempt: String(attempt - 1),
          feedback: fenced(trimFeedback(feedback, input.feedbackBudgetBytes).text, 'text'),
        });
  const text = fill<ImplementKey>(templates.implement, {
    'task.id': task.id,
    'task.title': task.title,
    'task.phaseId': task.phaseId,
    attempt: String(attempt),
    dependencies: dependencies.length
      ? dependencies.map((d) => `- ${d.id} ${d.title}${d.commit ? ` (commit ${d.commit})` : ''}`).join('\n')
      : 'None: this task depends on no other task.',
    steps: task.steps.length ? task.steps.map((s) => `- ${s.id} ${s.text}`).join('\n') : 'None listed: the title is the task.',
    criteria: task.criteria.length
      ? task.criteria.map((c) => `${c.index}. ${c.text}${c.source ? ` [source: ${c.source}]` : ''}`).join('\n')
      : 'None listed: the build must pass.',
    'repo.files': repoFiles(context),
    'repo.relevant': relevantFiles(context),
    retry,
  });
  // One trailing newline, whatever the templates end with, so an empty retry leaves no gap.
  return `${text.replace(/\s+$/, '')}\n`;
}

/**
 * The end of `text` within `budgetBytes` (UTF-8, marker included), starting at a line start and
 * prefixed by "… N bytes omitted". ANSI colour codes go first: they cost bytes and mean nothing to the agent.
 */
export function trimFeedback(text: string, budgetBytes = DEFAULT_FEEDBACK_BUDGET_BYTES): { text: string; omittedBytes: number } {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/\r\n?/g, '\n').replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '');
  const bytes = Buffer.from(clean, 'utf8');
  if (bytes.length <= budgetBytes) return { text: clean, omittedBytes: 0 };
  // Room for the marker line, whose digits are at most those of the total.
  const marker = (n: number): string => `… ${n} bytes omitted\n`;
  const keep = Math.max(0, budgetBytes - Buffer.byteLength(marker(bytes.length)));
  let start = bytes.length - keep;
  if (bytes[start - 1] !== 0x0a) {
    const newline = bytes.indexOf(0x0a, start);
    if (newline !== -1 && newline + 1 < bytes.length) start = newline + 1;
    // No line start in the window (one huge line): cut at a character boundary instead.
    else while (start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++;
  }
  const omittedBytes = start;
  return { text: marker(omittedBytes) + bytes.subarray(start).toString('utf8'), omittedBytes };
}

/** Checks a template's placeholders; the text without its leading editors' comment, or throws. */
export function checkTemplate(name: 'implement' | 'retry', raw: string, where: string): string {
  // A leading <!-- … --> documents the template for its editors; the agent does not need it.
  const text = raw.replace(/\r\n?/g, '\n').replace(/^<!--[\s\S]*?-->\n*/, '');
  const keys: readonly string[] = name === 'implement' ? IMPLEMENT_KEYS : RETRY_KEYS;
  const unknown = [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!).filter((k) => !keys.includes(k));
  if (unknown.length) {
    throw new PromptTemplateError('prompt_template_invalid', `prompt template ${where} uses unknown placeholders: ${[...new Set(unknown)].join(', ')}`);
  }
  return text;
}

/**
 * One pass over the template: values are inserted verbatim and never scanned again, so a `{{x}}`
 * inside a task's text or a file's contents stays as written.
 */
function fill<K extends string>(template: string, values: Record<K, string>): string {
  return template.replace(PLACEHOLDER, (whole, key: string) => {
    if (!Object.hasOwn(values, key)) throw new PromptTemplateError('prompt_template_invalid', `unknown placeholder ${whole}`);
    return values[key as K];
  });
}

function repoFiles(context: RepoContext): string {
  if (context.totalFiles === 0) return 'The repository has no tracked files yet.';
  const head =
    context.files.length < context.totalFiles
      ? `The first ${context.files.length} of ${context.totalFiles} tracked files:`
      : `The ${context.totalFiles} tracked files:`;
  return `${head}\n\n${fenced(context.files.join('\n'), 'text')}`;
}

function relevantFiles(context: RepoContext): string {
  const parts: string[] = [];
  for (const file of context.relevant) parts.push(`#### ${file.path}\n\n${fenced(file.content, languageOf(file.path))}`);
  if (context.skipped.length) {
    const why: Record<RepoContext['skipped'][number]['reason'], string> = {
      binary: 'binary',
      'too-large': 'too large',
      'over-budget': 'over the size budget',
      'not-a-file': 'not a regular file in the checkout',
    };
    parts.push(`Also relevant, not shown (open them yourself):\n\n${context.skipped.map((s) => `- ${s.path} (${why[s.reason]})`).join('\n')}`);
  }
  return parts.length ? parts.join('\n\n') : 'None: no file is named by the task.';
}

/** A fence longer than any backtick run in the text, so file contents cannot close it early. */
function fenced(text: string, language: string): string {
  let longest = 0;
  for (const run of text.matchAll(/`{3,}/g)) longest = Math.max(longest, run[0].length);
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${language}\n${text.endsWith('\n') || text === '' ? text : `${text}\n`}${fence}`;
}

function languageOf(path: string): string {
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase() ?? '';
  return /^[a-z0-9]{1,10}$/.test(ext) ? ext : 'text';
}

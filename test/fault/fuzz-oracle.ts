// The oracle of the fuzz suite and its tally: what every response must look like, which statuses a
// case allows, and the grouping of violations into a short report (kind → count, first examples).

export interface Violation {
  kind: string;
  caseId: string;
  family: string;
  detail: string;
}

export class Tally {
  sent = 0;
  byClass: Record<string, number> = {};
  unexpected5xx = 0;
  documented503 = 0;
  hangs = 0;
  /** Not-HTTP requests the server neither answered nor closed within the deadline (uWS waits for its idle timeout). */
  silentOnMalformed = 0;
  closedOnMalformed = 0;
  crashes = 0;
  roundTrips = 0;
  wsMessages = 0;
  violations: Violation[] = [];

  /** Services restarted because a case broke them. */
  restarts = 0;

  merge(other: Tally): void {
    for (const k of ['sent', 'unexpected5xx', 'documented503', 'hangs', 'silentOnMalformed', 'closedOnMalformed', 'crashes', 'roundTrips', 'wsMessages', 'restarts'] as const) this[k] += other[k];
    for (const [k, v] of Object.entries(other.byClass)) this.byClass[k] = (this.byClass[k] ?? 0) + v;
    this.violations.push(...other.violations);
  }

  count(status: number): void {
    this.sent++;
    const cls = status <= 0 ? 'none' : `${Math.floor(status / 100)}xx`;
    this.byClass[cls] = (this.byClass[cls] ?? 0) + 1;
  }

  violate(kind: string, caseId: string, family: string, detail: string): void {
    this.violations.push({ kind, caseId, family, detail });
  }

  /** One line per kind: count, families, the first example. */
  kinds(): string[] {
    const groups = new Map<string, Violation[]>();
    for (const v of this.violations) groups.set(v.kind, [...(groups.get(v.kind) ?? []), v]);
    return [...groups.entries()]
      .sort((a, b) => b[1].length - a[1].length)
      .map(([kind, vs]) => {
        const families = [...new Set(vs.map((v) => v.family))];
        return `${kind} ×${vs.length} [${families.slice(0, 6).join(' | ')}${families.length > 6 ? ` | +${families.length - 6}` : ''}] e.g. case ${vs[0]!.caseId}: ${vs[0]!.detail}`;
      });
  }

  summary(label: string): string {
    return [
      `${label}: ${this.sent} requests, by class ${JSON.stringify(this.byClass)}`,
      `  unexpected 5xx ${this.unexpected5xx}, documented 503 ${this.documented503}, hangs ${this.hangs}, crashes ${this.crashes}, restarts after a broken service ${this.restarts}, round trips ${this.roundTrips}, WS messages ${this.wsMessages}`,
      `  malformed HTTP: closed ${this.closedOnMalformed}, left open past the deadline ${this.silentOnMalformed}`,
      `  violations ${this.violations.length}${this.violations.length ? ':' : ''}`,
      ...this.kinds().map((k) => `    - ${k}`),
    ].join('\n');
  }
}

const STACK = /\n\s+at |\bat [\w.<>]+ \(|node:internal|file:\/\/\/|\/src\/[\w/-]+\.(ts|js)|\.(ts|js):\d+:\d+|PostgresError|SQLSTATE/;

/** Problems with an error body: the documented `{"error":{"code","message","details"?}}`, nothing else, no stack. */
export function errorBodyProblems(text: string): string[] {
  const problems: string[] = [];
  if (STACK.test(text)) problems.push('stack trace or internals in the body');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [...problems, 'error body is not JSON'];
  }
  const ok =
    body !== null &&
    typeof body === 'object' &&
    !Array.isArray(body) &&
    Object.keys(body).length === 1 &&
    typeof (body as any).error === 'object' &&
    (body as any).error !== null &&
    typeof (body as any).error.code === 'string' &&
    typeof (body as any).error.message === 'string' &&
    Object.keys((body as any).error).every((k) => k === 'code' || k === 'message' || k === 'details');
  if (!ok) problems.push('error body not in the documented shape');
  return problems;
}

export function stackProblems(text: string): string[] {
  return STACK.test(text) ? ['stack trace or internals in the body'] : [];
}

/** A printable, bounded view of bytes or text (escapes control, NUL and non-ASCII). */
export function preview(data: Buffer | string, max = 240): string {
  const text = typeof data === 'string' ? data : data.toString('latin1');
  const escaped = JSON.stringify(text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text);
  return escaped.replace(/[\u0080-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A canonical JSON of a parsed value: sorted keys, non-finite numbers kept distinct from null.
 * Iterative, so 5,000-deep values do not overflow the stack.
 */
export function canonical(value: unknown): string {
  class Token {
    constructor(readonly text: string) {}
  }
  const out: string[] = [];
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v instanceof Token) out.push(v.text);
    else if (typeof v === 'number' && !Number.isFinite(v)) out.push(`"<number ${v}>"`);
    else if (Array.isArray(v)) {
      out.push('[');
      stack.push(new Token(']'));
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push(v[i]);
        if (i > 0) stack.push(new Token(','));
      }
    } else if (v !== null && typeof v === 'object') {
      out.push('{');
      stack.push(new Token('}'));
      const keys = Object.keys(v).sort();
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push((v as Record<string, unknown>)[keys[i]!]);
        stack.push(new Token(`${JSON.stringify(keys[i])}:`));
        if (i > 0) stack.push(new Token(','));
      }
    } else out.push(v === undefined ? 'undefined' : JSON.stringify(v));
  }
  return out.join('');
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T>(items: T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  });
  await Promise.all(lanes);
}

// Runs the HTTP fuzz cases against a live service and judges every response; between batches it
// checks that the process is alive and that a valid POST /events + GET still round-trips.
import { existsSync } from 'node:fs';
import { rawHttp, type RawResponse } from '../support/raw-http.js';
import { Prng } from '../support/prng.js';
import { corpus, randomCase, type FuzzContext, type HttpCase } from './fuzz-http-cases.js';
import { canonical, errorBodyProblems, pool, preview, stackProblems, Tally } from './fuzz-oracle.js';

export interface FuzzTarget {
  label: string;
  /** Current port (a restart may change it). */
  port: number;
  /** false once the server process has exited. */
  alive(): boolean;
  /** Replaces a broken or dead service with a fresh one on the same data. */
  restart?(): Promise<void>;
}

export interface HttpFuzzOptions {
  seed: number;
  /** Random cases on top of the corpus. */
  randomCases: number;
  /** Every value at every position (long mode) instead of a sample. */
  fullCorpus: boolean;
  /** Only this case ("c12", "r345"), from DEVTEAM_FUZZ_CASE. */
  only?: string;
  deadlineMs?: number;
  concurrency?: number;
  probeEvery?: number;
  /** Restarts allowed after a case broke the service; then the fuzz stops. */
  maxRestarts?: number;
}

const authOf = (c: HttpCase): Array<[string, string]> => (c.req.headers ?? []).filter(([n]) => n.toLowerCase() === 'authorization').slice(0, 1);

function describeRequest(c: HttpCase): string {
  const r = c.req;
  if (r.raw) return `raw ${preview(r.raw, 160)}`;
  const headers = (r.headers ?? []).map(([n, v]) => `${n}: ${v.length > 60 ? `${v.slice(0, 60)}…` : v}`).join('; ');
  const body = r.body === undefined ? '' : ` body ${preview(Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body), 160)}`;
  return `${r.method} ${preview(r.target, 120)} [${headers}]${body}`;
}

function describeResponse(r: RawResponse): string {
  if (r.hung) return `no response within the deadline`;
  if (r.closedEarly) return `connection closed without a response${r.error ? ` (${r.error})` : ''}`;
  return `${r.status} ${preview(r.body, 200)} in ${Math.round(r.ms)} ms`;
}

export async function runHttpFuzz(target: FuzzTarget, ctx: FuzzContext, opts: HttpFuzzOptions): Promise<Tally> {
  const tally = new Tally();
  const deadlineMs = opts.deadlineMs ?? 2_000;
  const root = new Prng(opts.seed);
  let cases = [...corpus(ctx, opts.fullCorpus), ...Array.from({ length: opts.randomCases }, (_, i) => randomCase(ctx, root.fork(i), i))];
  if (opts.only) cases = selectCases(cases, opts.only);
  console.log(`${target.label}: ${cases.length} HTTP cases (${cases.filter((c) => c.id.startsWith('c')).length} corpus, seed ${opts.seed})`);

  const readyDown = async () => {
    const r = await rawHttp(target.port, { method: 'GET', target: '/readyz' }, deadlineMs);
    return r.status !== 200;
  };

  async function judge(c: HttpCase, r: RawResponse, tally: Tally): Promise<void> {
    tally.count(r.status);
    const bad = (problem: string, extra?: string) => tally.violate(`${c.route}: ${problem}`, c.id, c.family, `${extra ? `${extra} — ` : ''}${describeRequest(c)} → ${describeResponse(r)}`);
    if (r.hung) {
      if (c.wellFormed) {
        tally.hangs++;
        return bad(`no response within ${deadlineMs} ms`);
      }
      tally.silentOnMalformed++;
      return;
    }
    if (r.closedEarly || r.status === 0) {
      if (c.wellFormed) return bad('connection closed without a response');
      tally.closedOnMalformed++;
      return;
    }
    if (r.status < 0) return bad('unparsable response');
    const text = r.body.toString('utf8');
    let code: string | undefined;
    try {
      code = JSON.parse(text)?.error?.code;
    } catch {
      /* judged below */
    }
    const readiness = c.req.target.startsWith('/readyz');
    if (readiness && r.status === 503 && /^\{"status":"unavailable","checks":\{/.test(text)) {
      // /readyz documents its own 503 body; it only says the database is down when it is.
      tally.documented503++;
      return;
    }
    if (r.status >= 500) {
      if (r.status === 503 && code === 'store_unavailable' && (await readyDown())) {
        tally.documented503++;
      } else {
        tally.unexpected5xx++;
        bad(r.status === 503 && code === 'store_unavailable' ? '503 store_unavailable while the database is up (input reached the store unvalidated)' : `${r.status} ${code ?? ''}`);
      }
    } else if (c.expect && !c.expect.includes(r.status)) {
      bad(`expected ${c.expect.join('/')} (${c.because ?? 'case rule'}), got ${r.status}${code ? ` ${code}` : ''}`, c.family);
    }
    if (r.status >= 400 && (text.length > 0 || c.wellFormed) && c.req.method !== 'HEAD') {
      for (const p of errorBodyProblems(text)) bad(p);
      const ct = r.headers['content-type']?.[0] ?? '';
      if (text.length > 0 && r.headers['content-type'] && !ct.startsWith('application/json')) bad(`error content-type ${ct}`);
    } else {
      for (const p of stackProblems(text)) bad(p);
    }
    if (r.status >= 200 && r.status < 300 && !c.req.target.startsWith('/metrics') && c.req.method !== 'HEAD' && text.length > 0) {
      try {
        JSON.parse(text);
      } catch {
        bad('2xx body is not JSON');
      }
    }
    if (r.status === 202 && c.roundTrip && c.sent) await roundTrip(c, text, bad, tally);
  }

  async function roundTrip(c: HttpCase, replyText: string, bad: (p: string, extra?: string) => void, tally: Tally): Promise<void> {
    let sent: any;
    try {
      sent = JSON.parse(c.sent!.toString('utf8'));
    } catch {
      return bad('202 for a body that is not JSON');
    }
    tally.roundTrips++;
    if (c.roundTrip === 'event') {
      const eventId = JSON.parse(replyText).eventId as string;
      const back = await rawHttp(target.port, { method: 'GET', target: `/events/${eventId}`, headers: authOf(c) }, deadlineMs);
      tally.count(back.status);
      if (back.status !== 200) return bad('accepted event cannot be read back', `GET /events/${eventId} → ${describeResponse(back)}`);
      const row = JSON.parse(back.body.toString('utf8'));
      if (canonical(row.payload) !== canonical(sent.payload)) bad('accepted event read back with another payload', `sent ${preview(canonical(sent.payload), 120)}, read ${preview(canonical(row.payload), 120)}`);
    } else {
      const back = await rawHttp(target.port, { method: 'GET', target: `/api/devteam/automation/status/${encodeURIComponent(sent.projectId)}`, headers: authOf(c) }, deadlineMs);
      tally.count(back.status);
      if (back.status !== 200) bad('accepted project has no status', describeResponse(back));
    }
  }

  const probeEvery = opts.probeEvery ?? 50;
  const maxRestarts = opts.maxRestarts ?? 2;
  /** null when the service is alive and a valid event round-trips, else what is wrong. */
  const health = async (tag: string): Promise<string | null> => {
    if (!target.alive()) return 'the server process exited';
    const problem = await probeRoundTrip(target.port, ctx, tag, deadlineMs);
    if (problem && !target.alive()) return 'the server process exited';
    return problem;
  };
  const restart = async (): Promise<boolean> => {
    if (!target.restart || tally.restarts >= maxRestarts) return false;
    tally.restarts++;
    await target.restart();
    return (await health('after-restart')) === null;
  };

  outer: for (let start = 0; start < cases.length; start += probeEvery) {
    const batch = cases.slice(start, start + probeEvery);
    const batchTally = new Tally();
    await pool(batch, opts.concurrency ?? 6, async (c) => {
      if (!target.alive()) return;
      await judge(c, await rawHttp(target.port, c.req, deadlineMs), batchTally);
    });
    const range = `${batch[0]!.id}..${batch.at(-1)!.id}`;
    const problem = await health(`probe-${start}`);
    if (!problem) {
      tally.merge(batchTally);
      continue;
    }
    // Something in the batch broke the service: find the case, one at a time on a fresh service.
    if (!(await restart())) {
      tally.merge(batchTally);
      if (problem.includes('exited')) tally.crashes++;
      tally.violate(`service broken (${problem.includes('exited') ? 'process exited' : 'valid requests fail'}); fuzz stopped after ${tally.restarts} restarts`, range, 'probe', problem);
      break;
    }
    let culprit = false;
    for (const c of batch) {
      const one = new Tally();
      await judge(c, await rawHttp(target.port, c.req, deadlineMs), one);
      const after = await health(`probe-${c.id}`);
      tally.merge(one);
      if (!after) continue;
      culprit = true;
      const exited = after.includes('exited');
      if (exited) tally.crashes++;
      tally.violate(exited ? 'server process exited after this case' : 'service broken by this case (valid requests fail afterwards)', c.id, c.family, `${describeRequest(c)}; then: ${after}`);
      if (!(await restart())) {
        tally.violate(`fuzz stopped after ${tally.restarts} restarts`, c.id, 'probe', after);
        break outer;
      }
    }
    if (!culprit) tally.violate('service broken by a batch run concurrently (no single case reproduces it)', range, 'probe', problem);
  }
  if (existsSync(ctx.canary)) tally.violate('a command from the input ran', '-', 'canary', `${ctx.canary} exists`);
  return tally;
}

/** "c12", "c12,r40" or a range "c100..c199" (in run order). */
export function selectCases<T extends { id: string }>(cases: T[], only: string): T[] {
  const range = /^(\w+)\.\.(\w+)$/.exec(only);
  if (range) {
    const from = cases.findIndex((c) => c.id === range[1]);
    const to = cases.findIndex((c) => c.id === range[2]);
    return from < 0 || to < 0 ? [] : cases.slice(from, to + 1);
  }
  const ids = new Set(only.split(','));
  return cases.filter((c) => ids.has(c.id));
}

/** A valid POST /events with a payload worth comparing, then GET: returns a problem, or null. */
export async function probeRoundTrip(port: number, ctx: FuzzContext, tag: string, deadlineMs = 2_000): Promise<string | null> {
  const payload = { tag, text: 'é ✓ 🙂 "quoted" \\ back', n: 1.5, big: 9007199254740991, list: [null, true, { deep: [1, [2, [3]]] }] };
  const body = JSON.stringify({ type: 'FUZZ_PROBE', projectId: 'fz-probe', payload });
  const auth: Array<[string, string]> = [['Authorization', `Bearer ${ctx.keys.own}`]];
  const posted = await rawHttp(port, { method: 'POST', target: '/events', headers: [...auth, ['Content-Type', 'application/json']], body }, deadlineMs);
  if (posted.status !== 202) return `POST /events → ${describeResponse(posted)}`;
  const eventId = JSON.parse(posted.body.toString('utf8')).eventId;
  const read = await rawHttp(port, { method: 'GET', target: `/events/${eventId}`, headers: auth }, deadlineMs);
  if (read.status !== 200) return `GET /events/${eventId} → ${describeResponse(read)}`;
  const row = JSON.parse(read.body.toString('utf8'));
  if (canonical(row.payload) !== canonical(payload)) return `payload read back differs: ${preview(JSON.stringify(row.payload))}`;
  const ready = await rawHttp(port, { method: 'GET', target: '/readyz' }, deadlineMs);
  if (ready.status !== 200) return `/readyz → ${describeResponse(ready)}`;
  return null;
}

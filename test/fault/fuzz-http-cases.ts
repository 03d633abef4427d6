// The HTTP fuzz cases: a systematic corpus (every hostile value at every field position of both
// bodies, every hostile id on every id route, content types, auth variants, framing) and seeded
// random cases on top. Each case says what a correct service must answer, beyond the generic
// oracle (no 5xx, no hang, the documented error shape).
import type { Prng } from '../support/prng.js';
import type { RawRequest } from '../support/raw-http.js';
import {
  CONTENT_TYPES,
  CORRELATION_IDS,
  describePath,
  IDEMPOTENCY_KEYS,
  NASTY_IDS,
  NASTY_KEYS,
  nastyValues,
  objectPathsOf,
  pathsOf,
  serializeWith,
  type Mutation,
  type Nasty,
} from './fuzz-values.js';

export interface Ids {
  eventId: string;
  projectId: string;
  executionId: string;
}

export interface FuzzContext {
  /** Tenant A's key (the "own" tenant of every case) and tenant B's key. */
  keys: { own: string; other: string };
  /** Ids created by tenant A and by tenant B before the fuzz. */
  own: Ids;
  other: Ids;
  canary: string;
  bodyLimit: number;
}

export type KeyKind = 'own' | 'other' | 'none' | 'unknown';

export interface HttpCase {
  id: string;
  family: string;
  /** Route label for the tally, e.g. "POST /events". */
  route: string;
  req: RawRequest;
  /** Valid HTTP/1.1 framing: it must get a complete response. */
  wellFormed: boolean;
  /** Allowed statuses when the case knows them (else any non-5xx). */
  expect?: number[];
  /** Why `expect` is what it is, for the report. */
  because?: string;
  /** On 202, read the resource back and compare. */
  roundTrip?: 'event' | 'initialize';
  /** The JSON text sent, for the round trip. */
  sent?: Buffer;
}

type Route = { method: string; label: string; path: (ctx: FuzzContext, id?: string) => string; idKind?: 'event' | 'project' | 'execution'; body?: 'event' | 'initialize'; auth: boolean };

const A = '/api/devteam/automation';
export const ROUTES: Route[] = [
  { method: 'POST', label: 'POST /events', path: () => '/events', body: 'event', auth: true },
  { method: 'GET', label: 'GET /events/{id}', path: (c, id) => `/events/${id ?? c.own.eventId}`, idKind: 'event', auth: true },
  { method: 'POST', label: 'POST initialize', path: () => `${A}/initialize`, body: 'initialize', auth: true },
  { method: 'GET', label: 'GET status/{projectId}', path: (c, id) => `${A}/status/${id ?? c.own.projectId}`, idKind: 'project', auth: true },
  { method: 'POST', label: 'POST pause/{projectId}', path: (c, id) => `${A}/pause/${id ?? c.own.projectId}`, idKind: 'project', auth: true },
  { method: 'POST', label: 'POST resume/{projectId}', path: (c, id) => `${A}/resume/${id ?? c.own.projectId}`, idKind: 'project', auth: true },
  { method: 'POST', label: 'POST stop/{projectId}', path: (c, id) => `${A}/stop/${id ?? c.own.projectId}`, idKind: 'project', auth: true },
  { method: 'GET', label: 'GET executions/{id}/artifacts', path: (c, id) => `${A}/executions/${id ?? c.own.executionId}/artifacts`, idKind: 'execution', auth: true },
  { method: 'GET', label: 'GET /healthz', path: () => '/healthz', auth: false },
  { method: 'GET', label: 'GET /readyz', path: () => '/readyz', auth: false },
  { method: 'GET', label: 'GET /metrics', path: () => '/metrics', auth: false },
];
const BODY_ROUTES = ROUTES.filter((r) => r.body);
const ID_ROUTES = ROUTES.filter((r) => r.idKind);

/** A valid POST /events body (an unregistered type: recorded as failed, starts nothing). */
export function eventBody(n: number): Record<string, unknown> {
  return { type: 'FUZZ_EVENT', projectId: `fz-ev-${n}`, correlationId: `fz-c-${n}`, payload: { taskId: '1.1', note: 'fuzz', list: [1, 'a', { k: null }] } };
}

/** A valid initialize body whose repository only ever points at 127.0.0.1 (a closed port; https, as plain http is refused). */
export function initializeBody(n: number, tenant = 'ALPHA'): Record<string, unknown> {
  const secret = (name: string) => `DEVTEAM_SECRET_${tenant}__${name}`;
  return {
    projectId: `fz-${n}`,
    repository: { url: 'https://127.0.0.1:9/fuzz.git', branch: 'main', credentials: { tokenEnv: secret('FUZZ_TOKEN'), username: 'u' } },
    tasks: { path: 'ai_docs/tasks/task_list.md' },
    agent: { preset: 'command', command: ['true', '{promptFile}'], model: 'm', args: ['--x'], timeoutSec: 10, keyEnv: secret('FUZZ_KEY') },
    verify: { commands: [['git', '--version']], timeoutSec: 10 },
    merge: { mode: 'ff' },
    limits: { cpus: 1, memoryMb: 256 },
  };
}

function authHeader(ctx: FuzzContext, key: KeyKind): Array<[string, string]> {
  if (key === 'none') return [];
  if (key === 'unknown') return [['Authorization', 'Bearer not-a-configured-key-0000']];
  return [['Authorization', `Bearer ${ctx.keys[key]}`]];
}

function post(ctx: FuzzContext, target: string, body: Buffer | string, key: KeyKind = 'own', contentType: string | null = 'application/json', extra: Array<[string, string]> = []): RawRequest {
  const headers: Array<[string, string]> = [...authHeader(ctx, key), ...extra];
  if (contentType !== null) headers.push(['Content-Type', contentType]);
  return { method: 'POST', target, headers, body };
}

function get(ctx: FuzzContext, target: string, key: KeyKind = 'own', extra: Array<[string, string]> = []): RawRequest {
  return { method: 'GET', target, headers: [...authHeader(ctx, key), ...extra] };
}

const baseOf = (kind: 'event' | 'initialize', n: number) => (kind === 'event' ? eventBody(n) : initializeBody(n));

/** One body mutation as a case; hostile values no field can hold must be refused with 400/422. */
function bodyCase(ctx: FuzzContext, id: string, route: Route, n: number, mutation: Mutation, what: string, nasty?: Nasty, key: KeyKind = 'own'): HttpCase {
  const sent = serializeWith(baseOf(route.body!, n), mutation);
  const tooBig = sent.length > ctx.bodyLimit;
  const c: HttpCase = { id, family: 'body-mutation', route: route.label, req: post(ctx, route.path(ctx), sent, key), wellFormed: true, sent, roundTrip: route.body };
  if (key === 'none' || key === 'unknown') Object.assign(c, { expect: [401], because: 'no valid key' });
  else if (tooBig) Object.assign(c, { expect: [413], because: 'over the body limit' });
  else if (nasty?.mustReject) Object.assign(c, { expect: [400, 422], because: 'NUL, lone surrogate or 5,000-deep nesting: no store can hold it' });
  else if (mutation.kind === 'add-key') Object.assign(c, { expect: [400, 422], because: /\\u0000|\\ud800/.test(mutation.key) ? 'a key no store can hold' : 'an unknown field' });
  c.family = `body:${what}`;
  return c;
}

/** The deterministic corpus; `full` adds every value at every position (long mode). */
export function corpus(ctx: FuzzContext, full: boolean): HttpCase[] {
  const cases: HttpCase[] = [];
  const add = (c: Omit<HttpCase, 'id'>) => cases.push({ ...c, id: `c${cases.length}` } as HttpCase);
  const values = nastyValues(ctx.canary);
  let n = 0;

  for (const route of BODY_ROUTES) {
    const base = baseOf(route.body!, 0);
    for (const path of pathsOf(base)) {
      for (const nasty of values) {
        if (!full && !nasty.mustReject && path.length !== 0 && (n++ % 7 !== 0)) continue;
        add(bodyCase(ctx, '', route, cases.length, { kind: 'replace', path, fragment: nasty.json }, `${describePath(path)}=${nasty.label}`, nasty));
      }
      if (path.length > 0) add(bodyCase(ctx, '', route, cases.length, { kind: 'remove', path }, `${describePath(path)} removed`));
    }
    for (const path of objectPathsOf(base)) {
      for (const key of NASTY_KEYS) {
        const payloadLike = route.body === 'event' && path[0] === 'payload';
        const c = bodyCase(ctx, '', route, cases.length, { kind: 'add-key', path, key, fragment: '1' }, `${describePath(path)}+key ${key.slice(0, 12)}`);
        // Payload keys are free; only keys no store can hold must be refused there.
        if (payloadLike && !/\\u0000|\\ud800/.test(key)) delete c.expect;
        add(c);
      }
    }
    // Whole-body shapes.
    const text = serializeWith(base, null).toString('utf8');
    const shapes: Array<[string, string | Buffer, number[]]> = [
      ['empty body', '', [400]],
      ['whitespace', ' \n\t ', [400]],
      ['array', '[]', [422]],
      ['string', '"x"', [422]],
      ['number', '1', [422]],
      ['null', 'null', [422]],
      ['truncated', text.slice(0, Math.floor(text.length / 2)), [400]],
      ['trailing garbage', `${text}x`, [400]],
      ['two documents', `${text}${text}`, [400]],
      ['BOM prefix', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), [400, 202, 422, 409]],
      ['UTF-16LE', Buffer.from(text, 'utf16le'), [400]],
      ['duplicate keys', text.replace('{', '{"projectId":"dup-a",'), [202, 400, 422, 409]],
      ['deep array body', `[${'['.repeat(5000)}${']'.repeat(5000)}]`, [422, 400]],
      ['over the limit', `{"pad":"${'a'.repeat(ctx.bodyLimit)}"}`, [413]],
      ['random bytes', Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37 + 11) % 256)), [400]],
    ];
    for (const [what, body, expect] of shapes) add({ family: `shape:${what}`, route: route.label, req: post(ctx, route.path(ctx), body), wellFormed: true, expect, because: what });
    for (const ct of CONTENT_TYPES) {
      const json = ct !== null && /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i.test(ct.trim());
      add({ family: `content-type:${String(ct).slice(0, 40)}`, route: route.label, req: post(ctx, route.path(ctx), serializeWith(baseOf(route.body!, 10_000 + cases.length), null), 'own', ct), wellFormed: true, expect: json ? undefined : [415], because: json ? undefined : 'not JSON' });
    }
    for (const cid of CORRELATION_IDS) add({ family: 'header:x-correlation-id', route: route.label, req: post(ctx, route.path(ctx), serializeWith(baseOf(route.body!, 20_000 + cases.length), null), 'own', 'application/json', [['X-Correlation-Id', cid]]), wellFormed: true });
  }
  // Secrets are named only inside the caller's namespace: never another tenant's, never the service's own variables.
  add({ family: "secrets:other tenant's namespace", route: 'POST initialize', req: post(ctx, `${A}/initialize`, serializeWith(initializeBody(35_000), null), 'other'), wellFormed: true, expect: [422], because: "names another tenant's secrets" });
  for (const variable of ['DATABASE_URL', 'REDIS_URL', 'DEVTEAM_API_KEYS', 'PATH', 'HOME', 'DEVTEAM_SECRET_BETA__FUZZ_TOKEN']) {
    for (const field of ['tokenEnv', 'keyEnv'] as const) {
      const body = initializeBody(35_100 + cases.length);
      if (field === 'tokenEnv') (body.repository as any).credentials.tokenEnv = variable;
      else (body.agent as any).keyEnv = variable;
      add({ family: `secrets:${field}=${variable}`, route: 'POST initialize', req: post(ctx, `${A}/initialize`, JSON.stringify(body)), wellFormed: true, expect: [422], because: "names a variable outside the caller's secret namespace" });
    }
  }
  for (const key of IDEMPOTENCY_KEYS) {
    add({ family: 'header:idempotency-key', route: 'POST initialize', req: post(ctx, `${A}/initialize`, serializeWith(initializeBody(30_000 + cases.length), null), 'own', 'application/json', [['Idempotency-Key', key]]), wellFormed: true });
  }

  for (const route of ID_ROUTES) {
    for (const { label, id } of NASTY_IDS) {
      const raw = /[\u0000-\u001f\u0080-\u00ff ]/.test(id);
      add({ family: `path-id:${label}`, route: route.label, req: { method: route.method, target: route.path(ctx, id), headers: authHeader(ctx, 'own') }, wellFormed: !raw, expect: expectForId(route, id), because: 'a malformed or unknown id' });
    }
    // Tenant isolation: B's key on A's resource, A's key on B's resource.
    add({ family: 'tenant:other key on own id', route: route.label, req: { method: route.method, target: route.path(ctx), headers: authHeader(ctx, 'other') }, wellFormed: true, expect: [404], because: "another tenant's resource looks unknown" });
    const otherId = route.idKind === 'event' ? ctx.other.eventId : route.idKind === 'project' ? ctx.other.projectId : ctx.other.executionId;
    add({ family: 'tenant:own key on other id', route: route.label, req: { method: route.method, target: route.path(ctx, otherId), headers: authHeader(ctx, 'own') }, wellFormed: true, expect: [404], because: "another tenant's resource looks unknown" });
  }

  for (const route of ROUTES) {
    for (const [label, headers] of authVariants(ctx)) {
      const req = route.body ? post(ctx, route.path(ctx), serializeWith(baseOf(route.body, 40_000 + cases.length), null), 'none', 'application/json', headers) : { method: route.method, target: route.path(ctx), headers };
      add({ family: `auth:${label}`, route: route.label, req, wellFormed: true, expect: route.auth ? [401] : undefined, because: 'no valid key' });
    }
    for (const method of ['PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'FOO']) {
      // uWS closes the connection on a method it does not know (FOO): judged as malformed.
      add({ family: `method:${method}`, route: route.label, req: { method, target: route.path(ctx), headers: authHeader(ctx, 'own') }, wellFormed: method !== 'FOO', expect: method === 'HEAD' ? undefined : [404, 405], because: 'no such route' });
    }
  }
  for (const c of framingCases(ctx)) add(c);
  for (const c of queryCases(ctx)) add(c);
  return cases;
}

function expectForId(route: Route, id: string): number[] | undefined {
  // The id might be routed elsewhere (a "/" in it) — then only the generic oracle applies.
  if (/[/?#]/.test(id) || id === '' || id === '.' || id === '..') return undefined;
  return [400, 404];
}

function authVariants(ctx: FuzzContext): Array<[string, Array<[string, string]>]> {
  const own = ctx.keys.own;
  return [
    ['missing', []],
    ['empty', [['Authorization', '']]],
    ['Bearer only', [['Authorization', 'Bearer']]],
    ['Bearer space', [['Authorization', 'Bearer ']]],
    ['Basic', [['Authorization', `Basic ${Buffer.from(`x:${own}`).toString('base64')}`]]],
    ['key with junk', [['Authorization', `Bearer ${own} extra`]]],
    ['key prefix', [['Authorization', `Bearer ${own.slice(0, -1)}`]]],
    ['key upper-cased', [['Authorization', `Bearer ${own.toUpperCase()}`]]],
    ['key percent-NUL', [['Authorization', `Bearer ${own}%00`]]],
    ['huge key', [['Authorization', `Bearer ${'k'.repeat(7_000)}`]]],
    ['latin1 key', [['Authorization', 'Bearer \u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9']]],
    ['unknown key', [['Authorization', 'Bearer not-a-configured-key-0000']]],
  ];
}

/** Requests that are not valid HTTP/1.1: the server may answer 4xx or close; never hang past the deadline once the client is done, never crash. */
function framingCases(ctx: FuzzContext): Array<Omit<HttpCase, 'id'>> {
  const auth = `Authorization: Bearer ${ctx.keys.own}\r\n`;
  const body = JSON.stringify(eventBody(50_000));
  const raw = (label: string, text: string | Buffer, endAfterSend = true): Omit<HttpCase, 'id'> => ({
    family: `framing:${label}`,
    route: 'raw',
    req: { method: 'POST', target: '', raw: Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1'), endAfterSend },
    wellFormed: false,
  });
  const head = `POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Content-Type: application/json\r\n`;
  return [
    raw('length longer than body', `${head}Content-Length: ${body.length + 50}\r\n\r\n${body}`),
    raw('length shorter than body', `${head}Content-Length: 5\r\n\r\n${body}`),
    raw('negative length', `${head}Content-Length: -1\r\n\r\n${body}`),
    raw('non-numeric length', `${head}Content-Length: abc\r\n\r\n${body}`),
    raw('huge length', `${head}Content-Length: 99999999999999999999\r\n\r\n${body}`),
    raw('two lengths', `${head}Content-Length: 5\r\nContent-Length: ${body.length}\r\n\r\n${body}`),
    raw('chunked', `${head}Transfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`),
    raw('bad chunk size', `${head}Transfer-Encoding: chunked\r\n\r\nzz\r\n${body}\r\n0\r\n\r\n`),
    raw('chunk without end', `${head}Transfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n`),
    raw('chunked and length', `${head}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n2\r\n{}\r\n0\r\n\r\n`),
    raw('pipelined second request', `GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /events/x HTTP/1.1\r\nHost: x\r\n${auth}\r\n`),
    raw('HTTP/1.0 with Host', 'GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n'),
    raw('no Host', 'GET /healthz HTTP/1.1\r\n\r\n'),
    raw('HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
    raw('absolute target', `GET http://127.0.0.1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`),
    raw('asterisk target', 'OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
    raw('lowercase method', 'get /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
    raw('LF only', 'GET /healthz HTTP/1.1\nHost: 127.0.0.1\n\n'),
    raw('header without colon', 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nBroken\r\n\r\n'),
    raw('NUL in header', `GET /events/${ctx.own.eventId} HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}X-A: a\u0000b\r\n\r\n`),
    raw('NUL in target', 'GET /healthz\u0000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
    raw('obs-fold header', `GET /events/${ctx.own.eventId} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer\r\n ${ctx.keys.own}\r\n\r\n`),
    raw('64 KiB header', `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(65_536)}\r\n\r\n`),
    raw('500 headers', `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n${Array.from({ length: 500 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`),
    raw('random bytes', Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 131 + 7) % 256))),
    raw('only CRLF', '\r\n\r\n\r\n'),
    raw('Expect 100-continue', `${head}Expect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n${body}`),
  ];
}

function queryCases(ctx: FuzzContext): Array<Omit<HttpCase, 'id'>> {
  const art = `${A}/executions/${ctx.own.executionId}/artifacts`;
  const q = ['?taskId=../1', '?taskId=%00', '?taskId=1.1&taskId=2.2', '?taskId=' + 'x'.repeat(5000), '?content=2', '?content=%ed%a0%80', '?content', '?%zz=1', '?a=%', '?' + 'a=1&'.repeat(2000), '?taskId=1.1&content=1'];
  const out: Array<Omit<HttpCase, 'id'>> = q.map((s) => ({ family: `query:${s.slice(0, 30)}`, route: 'GET executions/{id}/artifacts', req: get(ctx, art + s), wellFormed: true }));
  const paths: Array<[string, string]> = [
    ['GET /healthz', '/healthz'],
    ['GET /readyz', '/readyz'],
    ['GET /metrics', '/metrics'],
    ['GET status/{projectId}', `${A}/status/${ctx.own.projectId}`],
    ['GET /events/{id}', `/events/${ctx.own.eventId}`],
  ];
  for (const [route, path] of paths) {
    for (const s of ['?%zz', '?x=' + 'y'.repeat(4000), '?\u00e9']) out.push({ family: `query:${s.slice(0, 12)}`, route, req: get(ctx, path + s), wellFormed: !/[\u0080-\u00ff]/.test(s) });
  }
  return out;
}

/** One seeded random case. */
export function randomCase(ctx: FuzzContext, rng: Prng, index: number): HttpCase {
  const id = `r${index}`;
  const values = nastyValues(ctx.canary);
  const roll = rng.next();
  const n = 100_000 + index;
  if (roll < 0.35) {
    const route = rng.pick(BODY_ROUTES);
    const base = baseOf(route.body!, n);
    const r = rng.next();
    const keyKind: KeyKind = rng.chance(0.85) ? 'own' : rng.pick(['other', 'none', 'unknown'] as const);
    if (r < 0.7) {
      const path = rng.pick(pathsOf(base));
      const nasty = rng.pick(values);
      return bodyCase(ctx, id, route, n, { kind: 'replace', path, fragment: nasty.json }, `${describePath(path)}=${nasty.label}`, nasty, keyKind);
    }
    if (r < 0.85) {
      const path = rng.pick(objectPathsOf(base));
      const key = rng.pick(NASTY_KEYS);
      const value = rng.pick(values);
      const c = bodyCase(ctx, id, route, n, { kind: 'add-key', path, key, fragment: value.json }, `${describePath(path)}+unknown key`, value, keyKind);
      // Payload keys are free; the key or the value may still be one no store can hold.
      const unstorable = value.mustReject || /\\u0000|\\ud800/.test(key);
      if (route.body === 'event' && path[0] === 'payload' && c.expect?.[0] !== 401 && c.expect?.[0] !== 413 && !unstorable) delete c.expect;
      return c;
    }
    // Several fields of wrong types at once.
    const clone = structuredClone(base) as Record<string, unknown>;
    const wrong = [null, 1, -1, 1.5, 'x', '', [], {}, true, 'y'.repeat(300), [['a']], { a: 1 }];
    for (let i = rng.int(1, 4); i > 0; i--) {
      const path = rng.pick(pathsOf(clone).filter((p) => p.length > 0));
      let at: any = clone;
      for (const k of path.slice(0, -1)) at = at[k];
      at[path.at(-1)!] = structuredClone(rng.pick(wrong)); // a copy: a shared object would make a cycle
    }
    const sent = Buffer.from(JSON.stringify(clone));
    return { id, family: 'body:wrong types', route: route.label, req: post(ctx, route.path(ctx), sent, keyKind), wellFormed: true, sent, roundTrip: route.body, expect: keyKind === 'none' || keyKind === 'unknown' ? [401] : undefined };
  }
  if (roll < 0.45) {
    const route = rng.pick(BODY_ROUTES);
    const text = serializeWith(baseOf(route.body!, n), null);
    if (rng.chance(0.5)) {
      const cut = rng.int(0, text.length - 1);
      return { id, family: 'body:truncated', route: route.label, req: post(ctx, route.path(ctx), text.subarray(0, cut)), wellFormed: true, expect: [400] };
    }
    // Flip a few bytes of a valid body.
    const body = Buffer.from(text);
    for (let i = rng.int(1, 6); i > 0; i--) body[rng.int(0, body.length - 1)] = rng.int(0, 255);
    return { id, family: 'body:bit flips', route: route.label, req: post(ctx, route.path(ctx), body), wellFormed: true, sent: body, roundTrip: route.body };
  }
  if (roll < 0.53) {
    const route = rng.pick(ROUTES);
    const body = rng.bytes(rng.int(0, 3000));
    const ct = rng.chance(0.7) ? 'application/json' : rng.pick(CONTENT_TYPES);
    return { id, family: 'body:random bytes', route: route.label, req: { method: route.method, target: route.path(ctx), headers: [...authHeader(ctx, 'own'), ...(ct === null ? [] : ([['Content-Type', ct]] as Array<[string, string]>))], body }, wellFormed: true };
  }
  if (roll < 0.7) {
    const route = rng.pick(ID_ROUTES);
    let idText: string;
    if (rng.chance(0.5)) idText = rng.pick(NASTY_IDS).id;
    else idText = [...rng.bytes(rng.int(1, 40))].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    const key = rng.pick(['own', 'own', 'other', 'none'] as const);
    const raw = /[\u0000-\u001f\u0080-\u00ff ]/.test(idText);
    const rule = expectForId(route, idText);
    // An id that routes elsewhere (empty, a "/") gets that route's answer, e.g. 404 before any auth.
    return { id, family: 'path-id:random', route: route.label, req: { method: route.method, target: route.path(ctx, idText), headers: authHeader(ctx, key) }, wellFormed: !raw, expect: rule && key === 'none' ? [401] : rule };
  }
  if (roll < 0.85) {
    const route = rng.pick(ROUTES);
    const headers: Array<[string, string]> = [];
    const pickHeader = (): [string, string] => {
      const r = rng.int(0, 9);
      if (r === 0) return ['Content-Type', String(rng.pick(CONTENT_TYPES) ?? '')];
      if (r === 1) return ['X-Correlation-Id', rng.pick(CORRELATION_IDS)];
      if (r === 2) return ['Idempotency-Key', rng.pick(IDEMPOTENCY_KEYS)];
      if (r === 3) return ['Authorization', `Bearer ${rng.pick([ctx.keys.own, ctx.keys.other])}`];
      if (r === 4) return ['Content-Encoding', rng.pick(['gzip', 'br', 'identity', 'x'])];
      if (r === 5) return ['Accept', rng.pick(['text/html', '*/*', 'application/xml', ''])];
      if (r === 6) return ['X-Forwarded-For', rng.pick(['1.2.3.4', 'a'.repeat(2000), ''])];
      if (r === 7) return ['Cookie', `s=${'c'.repeat(rng.int(0, 4000))}`];
      if (r === 8) return [`X-${'h'.repeat(rng.int(1, 200))}`, 'v'];
      return ['Authorization', rng.pick(authVariants(ctx))[1][0]?.[1] ?? ''];
    };
    for (let i = rng.int(1, 6); i > 0; i--) headers.push(pickHeader());
    const body = route.body ? serializeWith(baseOf(route.body, n), null) : undefined;
    return { id, family: 'headers:random', route: route.label, req: { method: route.method, target: route.path(ctx), headers, body }, wellFormed: true };
  }
  if (roll < 0.93) {
    const frames = framingCases(ctx);
    const c = rng.pick(frames);
    return { ...c, id };
  }
  const q = queryCases(ctx);
  return { ...rng.pick(q), id };
}

// The live-stream fuzz: hostile handshakes over a raw socket (query params, subprotocols, auth,
// missing upgrade headers) and hostile messages over `ws` (malformed, huge, deep, binary, invalid
// UTF-8, unknown types, bad lastSeq). Every frame must match the shared schema, every documented
// close code must be the one sent, and a connection that survived its messages must still work.
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { FrameSchema } from '../../src/client/frames.js';
import type { Prng } from '../support/prng.js';
import type { FuzzContext } from './fuzz-http-cases.js';
import { preview, stackProblems, Tally } from './fuzz-oracle.js';
import { deepArray } from './fuzz-values.js';

interface ServerFrame {
  opcode: number;
  payload: Buffer;
}

interface Handshake {
  status: number;
  head: string;
  frames: ServerFrame[];
  hung: boolean;
  closedEarly: boolean;
  ms: number;
}

/** Parses complete server frames (unmasked) from `buf`; returns them and the unread rest. */
function parseFrames(buf: Buffer): { frames: ServerFrame[]; rest: Buffer } {
  const frames: ServerFrame[] = [];
  let at = 0;
  for (;;) {
    if (buf.length - at < 2) break;
    const opcode = buf[at]! & 0x0f;
    let len = buf[at + 1]! & 0x7f;
    let off = at + 2;
    if (len === 126) {
      if (buf.length - at < 4) break;
      len = buf.readUInt16BE(at + 2);
      off = at + 4;
    } else if (len === 127) {
      if (buf.length - at < 10) break;
      len = Number(buf.readBigUInt64BE(at + 2));
      off = at + 10;
    }
    if (buf.length < off + len) break;
    frames.push({ opcode, payload: buf.subarray(off, off + len) });
    at = off + len;
  }
  return { frames, rest: buf.subarray(at) };
}

/** A raw upgrade request; reads the answer and the first frames for `readMs` (or until a close frame). */
function rawHandshake(port: number, target: string, headers: Array<[string, string]>, deadlineMs: number, readMs: number): Promise<Handshake> {
  const started = performance.now();
  const head = `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buf: Buffer = Buffer.alloc(0);
    let status = 0;
    let headText = '';
    let frames: ServerFrame[] = [];
    let done = false;
    let readTimer: NodeJS.Timeout | undefined;
    const finish = (extra: Partial<Handshake> = {}) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      clearTimeout(readTimer);
      socket.destroy();
      resolve({ status, head: headText, frames, hung: false, closedEarly: false, ms: performance.now() - started, ...extra });
    };
    const deadline = setTimeout(() => finish(status === 0 ? { hung: true } : {}), deadlineMs);
    socket.on('connect', () => socket.write(Buffer.from(head, 'latin1')));
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (status === 0) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        headText = buf.subarray(0, end).toString('latin1');
        status = Number(/^HTTP\/1\.1 (\d{3})/.exec(headText)?.[1] ?? -1);
        buf = buf.subarray(end + 4);
        if (status !== 101) return finish({ frames: [{ opcode: -1, payload: buf }] });
        readTimer = setTimeout(() => finish(), readMs);
      }
      const parsed = parseFrames(buf);
      frames = [...frames, ...parsed.frames];
      buf = parsed.rest;
      // Done at a close, or once hello and the answer to the query (a resync, an update or an error frame) are in.
      const texts = frames.filter((f) => f.opcode === 1).map((f) => f.payload.toString('utf8'));
      const answered = texts.some((t) => t.startsWith('{"type":"hello"')) && texts.some((t) => /^\{"type":"(resync|execution-update|error)"/.test(t));
      if (frames.some((f) => f.opcode === 8) || answered) finish();
    });
    const closed = () => finish(status === 0 ? { closedEarly: true } : {});
    socket.on('end', closed);
    socket.on('error', closed);
    socket.on('close', closed);
  });
}

const closeCode = (f: ServerFrame) => (f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005);

/** Checks a text frame against the shared schema; returns the parsed frame or records a problem. */
function checkFrame(text: string, bad: (p: string) => void): { type: string; projectId: string; seq: number; payload: any } | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    bad('frame is not JSON');
    return null;
  }
  const parsed = FrameSchema.safeParse(json);
  if (!parsed.success) {
    bad('frame does not match the schema');
    return null;
  }
  for (const p of stackProblems(text)) bad(`${p} (frame)`);
  return parsed.data as any;
}

interface HsCase {
  id: string;
  label: string;
  target: string;
  headers: Array<[string, string]>;
  /** 'stream': hello then a resync of the project (an id the tenant has not used too); 'policy': closed with 1008; undefined: generic oracle. */
  expect?: 'stream' | 'policy' | 'hello';
}

function handshakeCases(ctx: FuzzContext, rng: Prng, count: number): HsCase[] {
  const own = ctx.own.projectId;
  const wsHeaders = (): Array<[string, string]> => [
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Key', randomBytes(16).toString('base64')],
    ['Sec-WebSocket-Version', '13'],
  ];
  const bearer = (k: string): [string, string] => ['Authorization', `Bearer ${k}`];
  const P = '/ws/devteam';
  const fixed: Array<Omit<HsCase, 'id'>> = [
    { label: 'own project', target: `${P}?projectId=${own}`, headers: [...wsHeaders(), bearer(ctx.keys.own)], expect: 'stream' },
    { label: 'duplicate projectId', target: `${P}?projectId=${own}&projectId=${own}`, headers: [...wsHeaders(), bearer(ctx.keys.own)], expect: 'stream' },
    { label: '300 projectIds', target: `${P}?${Array.from({ length: 300 }, () => `projectId=${own}`).join('&')}`, headers: [...wsHeaders(), bearer(ctx.keys.own)] },
    { label: 'empty projectId', target: `${P}?projectId=`, headers: [...wsHeaders(), bearer(ctx.keys.own)], expect: 'hello' },
    { label: 'NUL projectId', target: `${P}?projectId=a%00b`, headers: [...wsHeaders(), bearer(ctx.keys.own)], expect: 'hello' },
    { label: 'surrogate projectId', target: `${P}?projectId=%ed%a0%80`, headers: [...wsHeaders(), bearer(ctx.keys.own)], expect: 'hello' },
    { label: 'traversal projectId', target: `${P}?projectId=..%2F..%2Fetc`, headers: [...wsHeaders(), bearer(ctx.keys.own)], expect: 'hello' },
    { label: 'long projectId', target: `${P}?projectId=${'x'.repeat(3000)}`, headers: [...wsHeaders(), bearer(ctx.keys.own)], expect: 'hello' },
    { label: 'bad percent', target: `${P}?projectId=%zz&%`, headers: [...wsHeaders(), bearer(ctx.keys.own)] },
    ...['-1', 'abc', '1e309', '99999999999999999999', '1.5', '', '%00', '0x10'].map((s) => ({ label: `lastSeq ${s}`, target: `${P}?projectId=${own}&lastSeq=${s}`, headers: [...wsHeaders(), bearer(ctx.keys.own)], expect: 'stream' as const })),
    { label: 'lastSeq 0', target: `${P}?projectId=${own}&lastSeq=0`, headers: [...wsHeaders(), bearer(ctx.keys.own)] },
    // Subscribed like any id the tenant has not used yet (a dashboard subscribes before initialize).
    { label: "other tenant's project", target: `${P}?projectId=${ctx.other.projectId}`, headers: [...wsHeaders(), bearer(ctx.keys.own)], expect: 'stream' },
    { label: 'unknown project', target: `${P}?projectId=fz-nobody-here`, headers: [...wsHeaders(), bearer(ctx.keys.own)], expect: 'stream' },
    { label: 'no key', target: `${P}?projectId=${own}`, headers: wsHeaders(), expect: 'policy' },
    { label: 'unknown key', target: `${P}?projectId=${own}`, headers: [...wsHeaders(), bearer('not-a-configured-key-0000')], expect: 'policy' },
    // A valid key of the other tenant: the own tenant's project id is one it has not used, so subscribed.
    { label: "other tenant's key", target: `${P}?projectId=${own}`, headers: [...wsHeaders(), bearer(ctx.keys.other)], expect: 'stream' },
    { label: 'token in query', target: `${P}?projectId=${own}&token=${ctx.keys.own}`, headers: wsHeaders(), expect: 'stream' },
    { label: 'empty token', target: `${P}?projectId=${own}&token=`, headers: wsHeaders(), expect: 'policy' },
    { label: 'NUL token', target: `${P}?projectId=${own}&token=%00`, headers: wsHeaders(), expect: 'policy' },
    { label: 'subprotocol token', target: `${P}?projectId=${own}`, headers: [...wsHeaders(), ['Sec-WebSocket-Protocol', `devteam, bearer.${ctx.keys.own}`]], expect: 'stream' },
    { label: 'subprotocol bearer only', target: `${P}?projectId=${own}`, headers: [...wsHeaders(), ['Sec-WebSocket-Protocol', `bearer.${ctx.keys.own}`]], expect: 'stream' },
    { label: 'subprotocol empty bearer', target: `${P}?projectId=${own}`, headers: [...wsHeaders(), ['Sec-WebSocket-Protocol', 'devteam, bearer.']], expect: 'policy' },
    { label: "subprotocol other's key", target: `${P}?projectId=${own}`, headers: [...wsHeaders(), ['Sec-WebSocket-Protocol', `devteam, bearer.${ctx.keys.other}`]], expect: 'stream' },
    { label: 'subprotocol two keys', target: `${P}?projectId=${own}`, headers: [...wsHeaders(), ['Sec-WebSocket-Protocol', `devteam, bearer.${ctx.keys.other}, bearer.${ctx.keys.own}`]] },
    { label: '200 subprotocols', target: `${P}?projectId=${own}`, headers: [...wsHeaders(), bearer(ctx.keys.own), ['Sec-WebSocket-Protocol', Array.from({ length: 200 }, (_, i) => `p${i}`).join(', ')]] },
    { label: 'subprotocol junk', target: `${P}?projectId=${own}`, headers: [...wsHeaders(), bearer(ctx.keys.own), ['Sec-WebSocket-Protocol', ',,, ,\u00e9, a b']] },
    { label: 'no key header', target: `${P}?projectId=${own}`, headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Version', '13'], bearer(ctx.keys.own)] },
    { label: 'version 8', target: `${P}?projectId=${own}`, headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Key', randomBytes(16).toString('base64')], ['Sec-WebSocket-Version', '8'], bearer(ctx.keys.own)] },
    { label: 'short key', target: `${P}?projectId=${own}`, headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Key', 'abc'], ['Sec-WebSocket-Version', '13'], bearer(ctx.keys.own)] },
    { label: 'no Upgrade', target: `${P}?projectId=${own}`, headers: [bearer(ctx.keys.own)] },
    { label: 'bad extension', target: `${P}?projectId=${own}`, headers: [...wsHeaders(), bearer(ctx.keys.own), ['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits=99; x=\u00e9']] },
  ];
  const cases = fixed.map((c, i) => ({ ...c, id: `wh${i}` }));
  const pieces = [`projectId=${own}`, 'projectId=%00', `projectId=${ctx.other.projectId}`, 'lastSeq=-5', 'lastSeq=3', `token=${ctx.keys.own}`, `token=${ctx.keys.other}`, 'token=x', '%zz', 'a=b', `projectId=${'y'.repeat(200)}`];
  for (let i = 0; cases.length < count; i++) {
    const query = Array.from({ length: rng.int(0, 5) }, () => rng.pick(pieces)).join('&');
    const headers = wsHeaders();
    if (rng.chance(0.6)) headers.push(bearer(rng.pick([ctx.keys.own, ctx.keys.other, 'nope-nope-nope-nope'])));
    if (rng.chance(0.3)) headers.push(['Sec-WebSocket-Protocol', rng.pick(['devteam', `bearer.${ctx.keys.own}`, 'x, y', 'bearer.'])]);
    cases.push({ id: `wr${i}`, label: 'random', target: `${P}?${query}`, headers });
  }
  return cases;
}

export interface WsFuzzOptions {
  handshakes: number;
  sessions: number;
  deadlineMs?: number;
  /** The whole WS fuzz stops (with a violation) past this. */
  budgetMs: number;
}

const ALLOWED_CLOSE = new Set([1000, 1001, 1007, 1008, 1009]);

export async function runWsFuzz(port: number, ctx: FuzzContext, rng: Prng, opts: WsFuzzOptions, tally = new Tally()): Promise<Tally> {
  const deadlineMs = opts.deadlineMs ?? 2_000;
  const endBy = Date.now() + opts.budgetMs;
  const overBudget = (where: string) => {
    if (Date.now() < endBy) return false;
    tally.violate(`WS fuzz over its ${opts.budgetMs} ms budget (answers too slow)`, where, 'budget', `stopped at ${where}`);
    return true;
  };
  for (const c of handshakeCases(ctx, rng, opts.handshakes)) {
    if (overBudget(c.id)) return tally;
    const r = await rawHandshake(port, c.target, c.headers, deadlineMs, 400);
    tally.count(r.status);
    const bad = (p: string) => tally.violate(`WS handshake: ${p}`, c.id, c.label, `${preview(c.target, 100)} → ${r.status} ${preview(r.frames.map((f) => `${f.opcode}:${f.payload.toString('utf8')}`).join(' | '), 200)}`);
    if (r.hung) {
      tally.hangs++;
      bad(`no answer within ${deadlineMs} ms`);
      continue;
    }
    if (r.closedEarly) {
      bad('connection closed without an answer');
      continue;
    }
    if (r.status >= 500) {
      tally.unexpected5xx++;
      bad(`${r.status}`);
      continue;
    }
    if (r.status !== 101) {
      if (c.expect) bad(`expected an upgrade, got ${r.status}`);
      continue;
    }
    const texts = r.frames.filter((f) => f.opcode === 1).map((f) => checkFrame(f.payload.toString('utf8'), bad));
    const close = r.frames.find((f) => f.opcode === 8);
    if (close && !ALLOWED_CLOSE.has(closeCode(close))) bad(`close code ${closeCode(close)}`);
    if (c.expect === 'policy' && (!close || closeCode(close) !== 1008)) bad(`expected close 1008, got ${close ? closeCode(close) : 'no close'}`);
    if (c.expect === 'stream') {
      if (close) bad(`expected the stream, got close ${closeCode(close)}`);
      else if (!texts.some((f) => f?.type === 'resync' || f?.type === 'execution-update')) bad('expected a resync of the project');
    }
    if (c.expect === 'hello' && !texts.some((f) => f?.type === 'hello')) bad('expected hello');
  }
  let failedConnects = 0;
  for (let s = 0; s < opts.sessions; s++) {
    if (overBudget(`ws${s}`)) return tally;
    const before = tally.violations.length;
    await messageSession(port, ctx, rng, `ws${s}`, tally, deadlineMs);
    const connectFailed = tally.violations.slice(before).some((v) => v.kind.includes('after connect') || v.kind.includes('closed at connect'));
    failedConnects = connectFailed ? failedConnects + 1 : 0;
    if (failedConnects >= 3) {
      tally.violate('WS message: the stream no longer serves the own project; sessions stopped', `ws${s}`, 'stream', 'three sessions in a row got no resync');
      return tally;
    }
  }
  return tally;
}

type Outcome = 'error' | 'resync' | 'close1009' | 'close1008' | 'close1007' | 'close1006' | 'maybe';

function messageCatalog(ctx: FuzzContext): Array<{ label: string; data: string | Buffer; binary?: boolean; outcome: Outcome }> {
  const own = ctx.own.projectId;
  const sub = (extra: string) => `{"type":"subscribe","projectId":"${own}"${extra}}`;
  return [
    { label: 'malformed', data: '{', outcome: 'error' },
    { label: 'truncated', data: sub('').slice(0, 20), outcome: 'error' },
    { label: 'empty', data: '', outcome: 'error' },
    { label: 'null', data: 'null', outcome: 'error' },
    { label: 'array', data: '[]', outcome: 'error' },
    { label: 'number', data: '1e999', outcome: 'error' },
    { label: 'unknown type', data: '{"type":"hack","projectId":"x"}', outcome: 'error' },
    { label: 'no type', data: `{"projectId":"${own}"}`, outcome: 'error' },
    { label: 'missing projectId', data: '{"type":"subscribe"}', outcome: 'error' },
    { label: 'projectId number', data: '{"type":"subscribe","projectId":7}', outcome: 'error' },
    { label: 'projectId NUL', data: '{"type":"subscribe","projectId":"a\\u0000b"}', outcome: 'error' },
    { label: 'projectId surrogate', data: '{"type":"subscribe","projectId":"\\ud800"}', outcome: 'error' },
    { label: 'projectId traversal', data: '{"type":"subscribe","projectId":"../../x"}', outcome: 'error' },
    { label: 'projectId 129', data: `{"type":"subscribe","projectId":"${'x'.repeat(129)}"}`, outcome: 'error' },
    ...['-1', '1.5', '"5"', '1e308', '1e999', 'null', '9007199254740993', '[]'].map((v) => ({ label: `lastSeq ${v}`, data: sub(`,"lastSeq":${v}`), outcome: 'error' as const })),
    { label: 'lastSeq huge valid', data: sub(',"lastSeq":900719925474099'), outcome: 'maybe' },
    { label: 'extra fields', data: sub(',"x":{"y":1}'), outcome: 'maybe' },
    { label: '__proto__', data: '{"__proto__":{"type":"subscribe"},"projectId":"x"}', outcome: 'error' },
    { label: 'deep array', data: deepArray(5_000), outcome: 'error' },
    { label: 'deep object', data: `${'{"a":'.repeat(2_500)}1${'}'.repeat(2_500)}`, outcome: 'error' }, // 15,001 bytes: under the 16 KiB limit
    { label: 'binary random', data: randomBytes(64), binary: true, outcome: 'error' },
    { label: 'binary subscribe', data: Buffer.from(sub('')), binary: true, outcome: 'error' },
    { label: 'unsubscribe unknown', data: '{"type":"unsubscribe","projectId":"fz-nobody"}', outcome: 'maybe' },
    // Subscribed like any id the tenant has not used yet: a resync (executionId null), the connection goes on.
    { label: 'unknown project', data: '{"type":"subscribe","projectId":"fz-nobody-here"}', outcome: 'resync' },
    { label: "other tenant's project", data: `{"type":"subscribe","projectId":"${ctx.other.projectId}"}`, outcome: 'resync' },
    { label: 'over 16 KiB', data: `{"type":"subscribe","projectId":"${'x'.repeat(17 * 1024)}"}`, outcome: 'close1009' },
    // Documented (README, WS): a message over 1 MiB is not read at all, the connection is dropped (1006).
    { label: 'over 1 MiB', data: 'x'.repeat(1024 * 1024 + 10), outcome: 'close1006' },
    // Not documented by the service; uWS drops the connection (1006) rather than closing with RFC 6455's 1007: either is accepted.
    { label: 'invalid UTF-8 text', data: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), outcome: 'close1007' },
  ];
}

/** One connection: hello and the project's resync, then a few hostile messages, then a liveness check. */
async function messageSession(port: number, ctx: FuzzContext, rng: Prng, id: string, tally: Tally, deadlineMs: number): Promise<void> {
  const catalog = messageCatalog(ctx);
  const plan = Array.from({ length: rng.int(2, 6) }, () => rng.pick(catalog));
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/devteam?projectId=${ctx.own.projectId}`, { headers: { authorization: `Bearer ${ctx.keys.own}` } });
  const frames: Array<{ type: string; projectId: string; seq: number }> = [];
  let closed: { code: number; reason: string } | null = null;
  const label = () => plan.map((p) => p.label).join(', ');
  const subscribed = new Set<string>();
  const bad = (p: string) => tally.violate(`WS message: ${p}`, id, label(), `plan [${label()}] frames ${preview(JSON.stringify(frames.slice(-4)), 200)} close ${JSON.stringify(closed)}`);
  ws.on('message', (data, isBinary) => {
    if (isBinary) return bad('binary frame from the server');
    const f = checkFrame(data.toString(), bad);
    if (f) frames.push(f);
  });
  ws.on('error', () => {});
  const closedP = new Promise<void>((r) => ws.on('close', (code, reason) => ((closed = { code, reason: reason.toString() }), r())));
  const until = async (what: () => boolean, ms = deadlineMs) => {
    const end = Date.now() + ms;
    while (!what() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    return what();
  };
  try {
    tally.count(101);
    if (!(await until(() => frames.some((f) => f.type === 'resync') || closed !== null))) return bad('no resync of the own project after connect');
    if (closed) return bad(`closed at connect: ${JSON.stringify(closed)}`);
    for (const step of plan) {
      const errorsBefore = frames.filter((f) => f.type === 'error').length;
      ws.send(step.data, { binary: step.binary ?? false });
      tally.wsMessages++;
      if (step.outcome === 'error') {
        const ok = await until(() => frames.filter((f) => f.type === 'error').length > errorsBefore || closed !== null);
        if (closed) return bad(`${step.label}: expected an error frame, got close ${JSON.stringify(closed)}`);
        if (!ok) return bad(`${step.label}: no error frame within ${deadlineMs} ms`);
      } else if (step.outcome === 'resync') {
        // Already subscribed (an earlier step) is answered with nothing: only a first subscribe must get one.
        const resyncsBefore = frames.filter((f) => f.type === 'resync').length;
        const first = !subscribed.has(step.data.toString());
        subscribed.add(step.data.toString());
        const ok = await until(() => frames.filter((f) => f.type === 'resync').length > resyncsBefore || closed !== null, first ? deadlineMs : 100);
        if (closed) return bad(`${step.label}: expected a resync, got close ${JSON.stringify(closed)}`);
        if (first && !ok) return bad(`${step.label}: no resync within ${deadlineMs} ms`);
      } else if (step.outcome.startsWith('close')) {
        const want = Number(step.outcome.slice(5));
        await until(() => closed !== null);
        if (!closed) return bad(`${step.label}: expected close ${want}, still open after ${deadlineMs} ms`);
        const got = (closed as { code: number }).code;
        if (got !== want && !(want === 1007 && got === 1006)) bad(`${step.label}: expected close ${want}, got ${got}`);
        return;
      } else {
        await until(() => closed !== null, 100);
        if (closed) return bad(`${step.label}: unexpected close ${JSON.stringify(closed)}`);
      }
    }
    // Still usable: resubscribing to the own project gives a fresh resync.
    const resyncs = frames.filter((f) => f.type === 'resync').length;
    ws.send(JSON.stringify({ type: 'unsubscribe', projectId: ctx.own.projectId }));
    ws.send(JSON.stringify({ type: 'subscribe', projectId: ctx.own.projectId }));
    if (!(await until(() => frames.filter((f) => f.type === 'resync').length > resyncs || closed !== null))) bad('connection no longer answers a subscribe');
    else if (closed) bad(`closed after the plan: ${JSON.stringify(closed)}`);
  } finally {
    const seqs = frames.filter((f) => f.projectId === ctx.own.projectId && f.type !== 'resync').map((f) => f.seq);
    for (let i = 1; i < seqs.length; i++) if (seqs[i]! <= seqs[i - 1]!) bad(`seq went from ${seqs[i - 1]} to ${seqs[i]}`);
    ws.terminate();
    await Promise.race([closedP, new Promise((r) => setTimeout(r, 500))]);
  }
}

// The distributed frame log: per project a counter key, a ceiling key and a stream of the last
// `retain` frames (entry id `<seq>-0`), written by one Lua script that also publishes the frame on one
// channel for every process, so seq assignment, keeping and publishing are one atomic step, in seq
// order. The script hands out seqs only up to the ceiling, and the ceiling is only ever set to a mark
// already durable in FrameSeqMarks (reserved a block at a time): when Redis loses its data, the next
// seq is seeded from the mark, above every seq handed out before.
import type { Redis } from 'ioredis';
import { asUnavailable, closeRedis, createRedis, onRedis, openRedis, type RedisLog, type RedisTarget } from '../redis.js';
import type { AppendedFrame, FrameHandler, FrameLog, ProjectKey } from './frame-log.js';
import { DEFAULT_SEQ_BLOCK, FrameSeqError, assertSeqBlock, type FrameSeqMarks } from './frame-seq-marks.js';
import { DEFAULT_RETAIN, assertLastSeq, assertRetain, isComplete } from './memory-frame-log.js';

export type RedisFrameLogOptions = RedisTarget & {
  /** Start of every key and channel (`<prefix>:frames:seq:…`, `<prefix>:frames:log:…`, `<prefix>:frames:live`). */
  prefix: string;
  /** Durable high-water marks (the database), shared by every process on this prefix. */
  seqMarks: FrameSeqMarks;
  /** Seqs reserved per durable write. */
  seqBlock?: number;
  /** Frames kept per project (the newest ones). */
  retain?: number;
  /** A project's keys expire this long after its last append (abandoned projects do not stay forever). */
  ttlMs?: number;
  log?: RedisLog;
};

export const DEFAULT_FRAME_TTL_MS = 7 * 24 * 60 * 60 * 1_000;

/** Appends that found no seq to take, each followed by a reservation, before append gives up. */
const MAX_APPEND_ATTEMPTS = 64;
/** Reads that found the counter lost, each followed by a seed, before since gives up. */
const MAX_READ_ATTEMPTS = 5;

/** A seed marker left by a process that died mid-seed goes away by itself (it never blocks a seed). */
const SEED_MARKER_TTL_MS = 60_000;

// Shared by the scripts below. KEYS: seq counter, ceiling, stream, seed marker.
//
// The ceiling is stored as `<ceiling>:<run_id>`: it only counts on the Redis server process that set
// it. A restarted server (data lost, or restored from an RDB/AOF older than the last appends) or a
// promoted replica has another run_id, so its counter is not trusted either: it is seeded again.
// When the counter or a trusted ceiling is missing, the next seq must come from the durable mark:
// `seeding` returns the seed marker `<nonce>:<run_id>`, made here (ARGV nonce) unless this server
// made one. Only EXTEND with that marker may seed, so a reservation made before the loss can never
// seed after it. `floor_of` is what Redis still knows: the counter, or the last kept entry.
const SEEDING = `
-- A server that does not report a run_id still gets the flush handling, not the restart detection.
local run = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)') or 'norunid'
local function floor_of(cur)
  local floor = cur or 0
  local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
  if #last > 0 then
    local kept = tonumber(string.match(last[1][1], '^(%d+)'))
    if kept > floor then floor = kept end
  end
  return floor
end
local function seeding(cur, ceil, nonce)
  local marker = ''
  if cur == nil or ceil == nil then
    marker = redis.call('GET', KEYS[4])
    if not marker or string.match(marker, ':(%w+)$') ~= run then
      marker = nonce .. ':' .. run
      redis.call('SET', KEYS[4], marker, 'PX', ${SEED_MARKER_TTL_MS})
    end
  end
  return {0, string.format('%d', floor_of(cur)), marker}
end
local cur = tonumber(redis.call('GET', KEYS[1]))
local ceil = nil
local stored = redis.call('GET', KEYS[2])
if stored then
  local c, owner = string.match(stored, '^(%d+):(%w+)$')
  if owner == run then ceil = tonumber(c) end
end
`;

// ARGV: retain, ttl ms, channel, then the JSON of type, ts, projectId, executionId, tenant, payload, then a nonce.
// Returns {seq, seqs left below the ceiling}, or {0, floor, marker} when no seq may be handed out
// (marker '' when the block is used up; the marker to seed with when the counter or ceiling is lost).
// The frame's JSON is built here, with the seq spliced in, so that what is kept and what is published
// are the final frame (same key order as MemoryFrameLog).
const APPEND = `${SEEDING}
if cur == nil or ceil == nil or cur >= ceil then return seeding(cur, ceil, ARGV[10]) end
local seq = redis.call('INCR', KEYS[1])
local s = string.format('%d', seq)
local json = '{"type":' .. ARGV[4] .. ',"ts":' .. ARGV[5] .. ',"projectId":' .. ARGV[6] .. ',"seq":' .. s .. ',"executionId":' .. ARGV[7] .. ',"tenant":' .. ARGV[8] .. ',"payload":' .. ARGV[9] .. '}'
redis.call('XADD', KEYS[3], 'MAXLEN', ARGV[1], s .. '-0', 'data', json)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
redis.call('PUBLISH', ARGV[3], json)
return {seq, ceil - seq}`;

// ARGV: nonce. Whether APPEND would find a trusted counter, without appending: {1, counter, ''} or
// the refusal APPEND would give for a lost one.
const PROBE = `${SEEDING}
if cur == nil or ceil == nil then return seeding(cur, ceil, ARGV[1]) end
return {1, string.format('%d', cur), ''}`;

// ARGV: marker ('' to only raise), start, ceiling, ttl ms; `ceiling` is durable in the marks and
// `start` is ≥ the mark before that reservation. A live counter only gets a higher ceiling (seqs
// stay contiguous). A lost one is seeded at `start` (or higher, if Redis still knows more) — only
// with this server's current seed marker. Returns 1 when done, 0 when the marker is stale.
const EXTEND = `${SEEDING}
if cur ~= nil and ceil ~= nil then
  if tonumber(ARGV[3]) > ceil then redis.call('SET', KEYS[2], ARGV[3] .. ':' .. run, 'PX', ARGV[4]) end
  return 1
end
if ARGV[1] == '' or redis.call('GET', KEYS[4]) ~= ARGV[1] or string.match(ARGV[1], ':(%w+)$') ~= run then return 0 end
local seq = math.max(tonumber(ARGV[2]), floor_of(cur))
redis.call('SET', KEYS[1], string.format('%d', seq), 'PX', ARGV[4])
redis.call('SET', KEYS[2], ARGV[3] .. ':' .. run, 'PX', ARGV[4])
redis.call('DEL', KEYS[4])
return 1`;

type Refusal = [0, string, string];

interface FrameLogCommands {
  devteamFrameAppend(
    seqKey: string,
    ceilKey: string,
    logKey: string,
    seedKey: string,
    retain: number,
    ttlMs: number,
    channel: string,
    type: string,
    ts: string,
    projectId: string,
    executionId: string,
    tenant: string,
    payload: string,
    nonce: string,
  ): Promise<[number, number] | Refusal>;
  devteamFrameProbe(seqKey: string, ceilKey: string, logKey: string, seedKey: string, nonce: string): Promise<[1, string, ''] | Refusal>;
  devteamFrameExtend(seqKey: string, ceilKey: string, logKey: string, seedKey: string, marker: string, start: string, ceiling: string, ttlMs: number): Promise<number>;
}

interface ProjectKeys {
  seq: string;
  ceil: string;
  log: string;
  seed: string;
}

interface Subscription {
  handler: FrameHandler;
}

export class RedisFrameLog implements FrameLog {
  private readonly redis: Redis & FrameLogCommands;
  private readonly owned: boolean;
  private readonly subscriber: Redis;
  private readonly prefix: string;
  private readonly channel: string;
  private readonly retain: number;
  private readonly ttlMs: number;
  private readonly marks: FrameSeqMarks;
  private readonly block: number;
  /** Seqs left below the ceiling when the next block is reserved in the background. */
  private readonly lowWater: number;
  private readonly log: RedisLog | undefined;
  private readonly subscriptions = new Set<Subscription>();
  /** Per project (seq key), the reservation this process has in flight: appends that need one share it. */
  private readonly refills = new Map<string, Promise<void>>();
  /** Seed nonces are `<instance>:<n>`: unique across processes (and the marker adds the server's run_id). */
  private readonly instance = crypto.randomUUID();
  private nonces = 0;
  /** The SUBSCRIBE to the live channel, made once (again after a failure); ioredis restores it after a reconnect. */
  private subscribed: Promise<void> | undefined;
  private closed = false;

  constructor(opts: RedisFrameLogOptions) {
    this.prefix = opts.prefix;
    this.channel = `${opts.prefix}:frames:live`;
    this.retain = assertRetain(opts.retain ?? DEFAULT_RETAIN);
    this.ttlMs = opts.ttlMs ?? DEFAULT_FRAME_TTL_MS;
    if (!Number.isSafeInteger(this.ttlMs) || this.ttlMs < 1) throw new RangeError(`frame log ttlMs must be a positive integer, got ${this.ttlMs}`);
    this.marks = opts.seqMarks;
    this.block = assertSeqBlock(opts.seqBlock ?? DEFAULT_SEQ_BLOCK);
    this.lowWater = Math.floor(this.block / 4);
    this.log = opts.log;
    const { redis, owned } = openRedis(opts, { name: `${opts.prefix}:frames`, lazyConnect: true, log: opts.log });
    redis.defineCommand('devteamFrameAppend', { numberOfKeys: 4, lua: APPEND });
    redis.defineCommand('devteamFrameProbe', { numberOfKeys: 4, lua: PROBE });
    redis.defineCommand('devteamFrameExtend', { numberOfKeys: 4, lua: EXTEND });
    this.redis = redis as Redis & FrameLogCommands;
    this.owned = owned;
    // A subscribed connection takes no other command: always a connection of its own.
    const subscriberName = `${opts.prefix}:frames:subscriber`;
    if (opts.url !== undefined) {
      this.subscriber = createRedis(opts.url, { name: subscriberName, lazyConnect: true, log: opts.log });
    } else {
      this.subscriber = opts.redis.duplicate({ connectionName: subscriberName, lazyConnect: true });
      this.subscriber.on('error', () => {}); // callers see rejections; the borrowed connection's owner logs outages
    }
    this.subscriber.on('message', (channel: string, message: string) => this.deliver(channel, message));
  }

  async append(key: ProjectKey, type: Parameters<FrameLog['append']>[1], executionId: string, payload: unknown): Promise<AppendedFrame> {
    const ts = Date.now();
    const payloadJson = (JSON.stringify(payload) as string | undefined) ?? 'null';
    const keys = this.keys(key);
    for (let attempt = 1; ; attempt++) {
      const reply = await onRedis(this.redis, () =>
        this.redis.devteamFrameAppend(
          keys.seq,
          keys.ceil,
          keys.log,
          keys.seed,
          this.retain,
          this.ttlMs,
          this.channel,
          JSON.stringify(type),
          String(ts),
          JSON.stringify(key.projectId),
          JSON.stringify(executionId),
          JSON.stringify(key.tenant),
          payloadJson,
          this.nonce(),
        ),
      );
      const seq = Number(reply[0]);
      if (seq > 0) {
        // Ahead of need, so the hot path does not wait for the database at the end of the block.
        // Only the append that lands on the mark starts it: one reservation per block, cluster-wide.
        if (Number(reply[1]) === this.lowWater) this.reserveAhead(key, keys, seq);
        return { type, ts, projectId: key.projectId, seq, executionId, tenant: key.tenant, payload: payload ?? null };
      }
      if (attempt >= MAX_APPEND_ATTEMPTS) {
        throw new FrameSeqError('no frame seq could be reserved', { tenant: key.tenant, projectId: key.projectId, attempts: attempt });
      }
      const [, floor, marker] = reply as Refusal;
      await this.refill(key, keys, Number(floor), marker);
    }
  }

  async since(key: ProjectKey, lastSeq: number): Promise<{ frames: AppendedFrame[]; complete: boolean; lastSeq: number }> {
    assertLastSeq(lastSeq);
    const keys = this.keys(key);
    for (let attempt = 1; ; attempt++) {
      // One MULTI: whether the counter is trusted, the counter and the entries, at the same moment.
      const multi = this.redis.multi() as ReturnType<Redis['multi']> & { devteamFrameProbe(...args: string[]): ReturnType<Redis['multi']> };
      const results = await onRedis(this.redis, () =>
        multi.devteamFrameProbe(keys.seq, keys.ceil, keys.log, keys.seed, this.nonce()).get(keys.seq).xrange(keys.log, `${lastSeq + 1}-0`, '+').exec(),
      );
      if (!results) throw asUnavailable(this.redis, new Error('frame log read was aborted'));
      const [[probeErr, probe], [seqErr, rawSeq], [rangeErr, rawEntries]] = results as [
        [Error | null, [1, string, ''] | Refusal],
        [Error | null, string | null],
        [Error | null, Array<[string, string[]]>],
      ];
      if (probeErr) throw probeErr;
      if (seqErr) throw seqErr;
      if (rangeErr) throw rangeErr;
      // A lost (or untrusted) counter is seeded from the durable mark first: the client then
      // resyncs at a seq no lower than any it saw, and every frame after that has a higher one.
      if (Number(probe[0]) === 0) {
        if (attempt >= MAX_READ_ATTEMPTS) {
          throw new FrameSeqError('the frame seq could not be seeded for a read', { tenant: key.tenant, projectId: key.projectId, attempts: attempt });
        }
        if (await this.seedForRead(key, keys, probe as Refusal)) continue;
      }
      const frames: AppendedFrame[] = [];
      for (const [, fields] of rawEntries) {
        const data = fieldValue(fields, 'data');
        if (data !== undefined) frames.push(JSON.parse(data) as AppendedFrame);
      }
      const currentSeq = Math.max(rawSeq === null ? 0 : Number(rawSeq), frames.at(-1)?.seq ?? 0);
      return { frames, complete: isComplete(lastSeq, currentSeq, frames[0]?.seq), lastSeq: currentSeq };
    }
  }

  async subscribe(handler: FrameHandler): Promise<() => Promise<void>> {
    const subscription: Subscription = { handler };
    this.subscriptions.add(subscription);
    try {
      await this.ensureSubscribed();
    } catch (err) {
      this.subscriptions.delete(subscription);
      throw err;
    }
    // The channel stays subscribed while the log is open: frames nobody handles are only dropped here.
    return async () => void this.subscriptions.delete(subscription);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.subscriptions.clear();
    await Promise.all([this.owned ? closeRedis(this.redis) : Promise.resolve(), closeRedis(this.subscriber)]);
  }

  private ensureSubscribed(): Promise<void> {
    if (!this.subscribed) {
      const attempt = onRedis(this.subscriber, () => this.subscriber.subscribe(this.channel)).then(() => undefined);
      attempt.catch(() => {
        if (this.subscribed === attempt) this.subscribed = undefined;
      });
      this.subscribed = attempt;
    }
    return this.subscribed;
  }

  private deliver(channel: string, message: string): void {
    if (channel !== this.channel || this.closed) return;
    let frame: AppendedFrame;
    try {
      frame = JSON.parse(message) as AppendedFrame;
    } catch (err) {
      this.log?.warn({ err, channel }, 'frame log dropped a message that is not JSON');
      return;
    }
    for (const { handler } of this.subscriptions) {
      try {
        // Each handler its own copy: one that mutates the frame does not change what the others see.
        handler(this.subscriptions.size === 1 ? frame : (JSON.parse(message) as AppendedFrame));
      } catch (err) {
        this.log?.warn({ err, tenant: frame.tenant, projectId: frame.projectId, seq: frame.seq }, 'frame handler threw; other handlers still get the frame');
      }
    }
  }

  /**
   * Makes seqs available after a refused append: reserves a block in the marks (durable first),
   * then raises the ceiling — or, with the seed marker, seeds a lost counter at the block's start.
   * One in flight per project in this process; a caller that finds one waits for it and retries.
   */
  private refill(key: ProjectKey, keys: ProjectKeys, floor: number, marker: string): Promise<void> {
    const inFlight = this.refills.get(keys.seq);
    if (inFlight) return inFlight.catch(() => {});
    const run = (async () => {
      const ceiling = await this.marks.reserve(key, floor, this.block);
      const start = ceiling - this.block;
      await onRedis(this.redis, () =>
        this.redis.devteamFrameExtend(keys.seq, keys.ceil, keys.log, keys.seed, marker, String(start), String(ceiling), this.ttlMs),
      );
    })();
    this.refills.set(keys.seq, run);
    const forget = () => {
      if (this.refills.get(keys.seq) === run) this.refills.delete(keys.seq);
    };
    run.then(forget, forget);
    return run;
  }

  private reserveAhead(key: ProjectKey, keys: ProjectKeys, seq: number): void {
    if (this.refills.has(keys.seq)) return;
    this.refill(key, keys, seq, '').catch((err: unknown) =>
      this.log?.warn({ err, tenant: key.tenant, projectId: key.projectId, seq }, 'could not reserve the next frame seqs ahead; retried when the block runs out'),
    );
  }

  /**
   * For a read that found no trusted counter: seeds it at the durable mark (no new reservation: the
   * next append reserves above it). False when there is nothing to seed (no frame was ever handed out).
   */
  private async seedForRead(key: ProjectKey, keys: ProjectKeys, [, floor, marker]: Refusal): Promise<boolean> {
    const start = Math.max(await this.marks.mark(key), Number(floor));
    if (start === 0) return false;
    await onRedis(this.redis, () => this.redis.devteamFrameExtend(keys.seq, keys.ceil, keys.log, keys.seed, marker, String(start), String(start), this.ttlMs));
    return true;
  }

  private nonce(): string {
    return `${this.instance}:${++this.nonces}`;
  }

  private keys(key: ProjectKey): ProjectKeys {
    const part = projectPart(key);
    return {
      seq: `${this.prefix}:frames:seq:${part}`,
      ceil: `${this.prefix}:frames:ceil:${part}`,
      log: `${this.prefix}:frames:log:${part}`,
      seed: `${this.prefix}:frames:seed:${part}`,
    };
  }
}

/** `<tenant>:<project>`, each encoded, so that no tenant and project pair can spell another's key. */
function projectPart(key: ProjectKey): string {
  return `${encodeURIComponent(key.tenant)}:${encodeURIComponent(key.projectId)}`;
}

function fieldValue(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

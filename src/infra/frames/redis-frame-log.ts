// The distributed frame log: per project a counter key and a stream of the last `retain` frames
// (entry id `<seq>-0`), both written by one Lua script that also publishes the frame on one channel
// for every process, so seq assignment, keeping and publishing are one atomic step, in seq order.
import type { Redis } from 'ioredis';
import { asUnavailable, closeRedis, createRedis, onRedis, openRedis, type RedisLog, type RedisTarget } from '../redis.js';
import type { AppendedFrame, FrameHandler, FrameLog, ProjectKey } from './frame-log.js';
import { DEFAULT_RETAIN, assertLastSeq, assertRetain, isComplete } from './memory-frame-log.js';

export type RedisFrameLogOptions = RedisTarget & {
  /** Start of every key and channel (`<prefix>:frames:seq:…`, `<prefix>:frames:log:…`, `<prefix>:frames:live`). */
  prefix: string;
  /** Frames kept per project (the newest ones). */
  retain?: number;
  /** A project's keys expire this long after its last append (abandoned projects do not stay forever). */
  ttlMs?: number;
  log?: RedisLog;
};

export const DEFAULT_FRAME_TTL_MS = 7 * 24 * 60 * 60 * 1_000;

// KEYS: seq counter, stream. ARGV: retain, ttl ms, channel, then the JSON of type, ts, projectId,
// tenant, payload. Returns the frame's seq. The frame's JSON is built here, with the seq spliced in,
// so that what is kept and what is published are the final frame (same key order as MemoryFrameLog).
// A counter lost while its stream survived (it never should: both get the same expiry) resumes
// after the stream's last entry, so entry ids keep growing.
const APPEND = `
local seq
if redis.call('EXISTS', KEYS[1]) == 1 then
  seq = redis.call('INCR', KEYS[1])
else
  seq = 1
  local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
  if #last > 0 then seq = tonumber(string.match(last[1][1], '^(%d+)')) + 1 end
  redis.call('SET', KEYS[1], string.format('%d', seq))
end
local s = string.format('%d', seq)
local json = '{"type":' .. ARGV[4] .. ',"ts":' .. ARGV[5] .. ',"projectId":' .. ARGV[6] .. ',"seq":' .. s .. ',"tenant":' .. ARGV[7] .. ',"payload":' .. ARGV[8] .. '}'
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[1], s .. '-0', 'data', json)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('PUBLISH', ARGV[3], json)
return seq`;

interface FrameLogCommands {
  devteamFrameAppend(
    seqKey: string,
    logKey: string,
    retain: number,
    ttlMs: number,
    channel: string,
    type: string,
    ts: string,
    projectId: string,
    tenant: string,
    payload: string,
  ): Promise<number>;
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
  private readonly log: RedisLog | undefined;
  private readonly subscriptions = new Set<Subscription>();
  /** The SUBSCRIBE to the live channel, made once (again after a failure); ioredis restores it after a reconnect. */
  private subscribed: Promise<void> | undefined;
  private closed = false;

  constructor(opts: RedisFrameLogOptions) {
    this.prefix = opts.prefix;
    this.channel = `${opts.prefix}:frames:live`;
    this.retain = assertRetain(opts.retain ?? DEFAULT_RETAIN);
    this.ttlMs = opts.ttlMs ?? DEFAULT_FRAME_TTL_MS;
    if (!Number.isSafeInteger(this.ttlMs) || this.ttlMs < 1) throw new RangeError(`frame log ttlMs must be a positive integer, got ${this.ttlMs}`);
    this.log = opts.log;
    const { redis, owned } = openRedis(opts, { name: `${opts.prefix}:frames`, lazyConnect: true, log: opts.log });
    redis.defineCommand('devteamFrameAppend', { numberOfKeys: 2, lua: APPEND });
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

  async append(key: ProjectKey, type: Parameters<FrameLog['append']>[1], payload: unknown): Promise<AppendedFrame> {
    const ts = Date.now();
    const payloadJson = (JSON.stringify(payload) as string | undefined) ?? 'null';
    const seq = await onRedis(this.redis, () =>
      this.redis.devteamFrameAppend(
        this.seqKey(key),
        this.logKey(key),
        this.retain,
        this.ttlMs,
        this.channel,
        JSON.stringify(type),
        String(ts),
        JSON.stringify(key.projectId),
        JSON.stringify(key.tenant),
        payloadJson,
      ),
    );
    return { type, ts, projectId: key.projectId, seq: Number(seq), tenant: key.tenant, payload: payload ?? null };
  }

  async since(key: ProjectKey, lastSeq: number): Promise<{ frames: AppendedFrame[]; complete: boolean; lastSeq: number }> {
    assertLastSeq(lastSeq);
    // One MULTI: the counter and the entries are read at the same moment.
    const results = await onRedis(this.redis, () =>
      this.redis
        .multi()
        .get(this.seqKey(key))
        .xrange(this.logKey(key), `${lastSeq + 1}-0`, '+')
        .exec(),
    );
    if (!results) throw asUnavailable(this.redis, new Error('frame log read was aborted'));
    const [[seqErr, rawSeq], [rangeErr, rawEntries]] = results as [[Error | null, string | null], [Error | null, Array<[string, string[]]>]];
    if (seqErr) throw seqErr;
    if (rangeErr) throw rangeErr;
    const frames: AppendedFrame[] = [];
    for (const [, fields] of rawEntries) {
      const data = fieldValue(fields, 'data');
      if (data !== undefined) frames.push(JSON.parse(data) as AppendedFrame);
    }
    const currentSeq = Math.max(rawSeq === null ? 0 : Number(rawSeq), frames.at(-1)?.seq ?? 0);
    return { frames, complete: isComplete(lastSeq, currentSeq, frames[0]?.seq), lastSeq: currentSeq };
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

  private seqKey(key: ProjectKey): string {
    return `${this.prefix}:frames:seq:${projectPart(key)}`;
  }

  private logKey(key: ProjectKey): string {
    return `${this.prefix}:frames:log:${projectPart(key)}`;
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

// The distributed pub/sub: one connection publishes, one is subscribed; each channel is one Redis
// SUBSCRIBE however many local handlers listen, and every message fans out to them here.
import type { Redis } from 'ioredis';
import { closeRedis, createRedis, onRedis, whenReady, type RedisLog } from '../redis.js';
import type { Bus, BusHandler } from './bus.js';

export interface RedisBusOptions {
  url: string;
  /** Start of every channel name (`<prefix>:bus:<channel>`). */
  prefix: string;
  log?: RedisLog;
}

interface Subscription {
  handler: BusHandler;
}

interface Channel {
  subscriptions: Set<Subscription>;
  /** Whether Redis has the SUBSCRIBE (as far as the last completed sync knows). */
  subscribed: boolean;
  /** The latest sync; syncs of one channel run one after the other. */
  sync: Promise<void>;
}

export class RedisBus implements Bus {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly channels = new Map<string, Channel>();
  private readonly channelPrefix: string;
  private readonly log: RedisLog | undefined;
  private closed = false;

  constructor(opts: RedisBusOptions) {
    this.channelPrefix = `${opts.prefix}:bus:`;
    this.log = opts.log;
    this.publisher = createRedis(opts.url, { name: `${opts.prefix}:bus:publisher`, lazyConnect: true, log: opts.log });
    // ioredis re-subscribes every channel by itself after a reconnect.
    this.subscriber = createRedis(opts.url, { name: `${opts.prefix}:bus:subscriber`, lazyConnect: true, log: opts.log });
    this.subscriber.on('message', (fullChannel: string, message: string) => this.deliver(fullChannel, message));
  }

  async publish(channel: string, message: string): Promise<void> {
    await onRedis(this.publisher, () => this.publisher.publish(this.channelPrefix + channel, message));
  }

  async subscribe(channel: string, handler: BusHandler): Promise<() => Promise<void>> {
    const subscription: Subscription = { handler };
    let state = this.channels.get(channel);
    if (!state) this.channels.set(channel, (state = { subscriptions: new Set(), subscribed: false, sync: Promise.resolve() }));
    state.subscriptions.add(subscription);
    try {
      await this.sync(channel, state);
    } catch (err) {
      state.subscriptions.delete(subscription);
      void this.sync(channel, state).catch(() => {});
      throw err;
    }
    let active = true;
    return async () => {
      if (!active || this.closed) return;
      active = false;
      // Delivery stops here, whatever Redis says; a failed UNSUBSCRIBE only leaves a channel whose
      // messages nobody receives, and the next sync of the channel retries it.
      state.subscriptions.delete(subscription);
      await this.sync(channel, state).catch((err: unknown) => this.log?.warn({ err, channel }, 'bus unsubscribe failed'));
    };
  }

  async ping(): Promise<void> {
    await onRedis(this.publisher, () => this.publisher.ping());
    // A subscriber that is down delivers nothing: not ready either.
    if (this.subscriber.status !== 'wait') await whenReady(this.subscriber);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.channels.clear();
    await Promise.all([closeRedis(this.publisher), closeRedis(this.subscriber)]);
  }

  /** Brings Redis in line with the local handlers of `channel`: SUBSCRIBE while any, UNSUBSCRIBE after. */
  private sync(channel: string, state: Channel): Promise<void> {
    const run = state.sync
      .catch(() => {})
      .then(async () => {
        const wanted = state.subscriptions.size > 0;
        if (wanted && !state.subscribed) {
          await onRedis(this.subscriber, () => this.subscriber.subscribe(this.channelPrefix + channel));
          state.subscribed = true;
        } else if (!wanted && state.subscribed) {
          await onRedis(this.subscriber, () => this.subscriber.unsubscribe(this.channelPrefix + channel));
          state.subscribed = false;
        }
        // Forget an idle channel, unless a newer sync was queued behind this one.
        if (!wanted && !state.subscribed && state.sync === run && this.channels.get(channel) === state) this.channels.delete(channel);
      });
    state.sync = run;
    return run;
  }

  private deliver(fullChannel: string, message: string): void {
    if (!fullChannel.startsWith(this.channelPrefix)) return;
    const channel = fullChannel.slice(this.channelPrefix.length);
    const state = this.channels.get(channel);
    if (!state) return;
    for (const { handler } of state.subscriptions) {
      try {
        handler(message, channel);
      } catch (err) {
        this.log?.warn({ err, channel }, 'bus handler threw; other handlers still get the message');
      }
    }
  }
}

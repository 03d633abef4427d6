// The in-process pub/sub of embedded mode: publishers and subscribers share this object; messages
// are delivered asynchronously (as over Redis) and in publish order.
import type { Bus, BusHandler } from './bus.js';

export interface MemoryBusOptions {
  log?: { warn(obj: object, msg: string): void };
}

interface Subscription {
  handler: BusHandler;
}

export class MemoryBus implements Bus {
  private readonly channels = new Map<string, Set<Subscription>>();
  private readonly log: MemoryBusOptions['log'];

  constructor(opts: MemoryBusOptions = {}) {
    this.log = opts.log;
  }

  async publish(channel: string, message: string): Promise<void> {
    // Microtasks run in the order they are queued: publish order is delivery order.
    queueMicrotask(() => this.deliver(channel, message));
  }

  async subscribe(channel: string, handler: BusHandler): Promise<() => Promise<void>> {
    // Wrapped: the same function subscribed twice is two subscriptions, each removed on its own.
    const subscription: Subscription = { handler };
    let subscriptions = this.channels.get(channel);
    if (!subscriptions) this.channels.set(channel, (subscriptions = new Set()));
    subscriptions.add(subscription);
    return async () => {
      const current = this.channels.get(channel);
      if (!current?.delete(subscription)) return;
      if (current.size === 0) this.channels.delete(channel);
    };
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.channels.clear();
  }

  private deliver(channel: string, message: string): void {
    const subscriptions = this.channels.get(channel);
    if (!subscriptions) return;
    for (const { handler } of subscriptions) {
      try {
        handler(message, channel);
      } catch (err) {
        this.log?.warn({ err, channel }, 'bus handler threw; other handlers still get the message');
      }
    }
  }
}

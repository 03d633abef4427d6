// Pub/sub between processes: fire-and-forget messages on named channels, in publish order per
// channel for a single publisher.

export type BusHandler = (message: string, channel: string) => void;

export interface Bus {
  publish(channel: string, message: string): Promise<void>;
  /** Resolves once the subscription is active; the returned function unsubscribes. */
  subscribe(channel: string, handler: BusHandler): Promise<() => Promise<void>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

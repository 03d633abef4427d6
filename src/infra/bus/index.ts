// Pub/sub between processes: the interface and its in-process and Redis implementations.
export type { Bus, BusHandler } from './bus.js';
export { MemoryBus, type MemoryBusOptions } from './memory-bus.js';
export { RedisBus, type RedisBusOptions } from './redis-bus.js';

// The TTL key-value store: the interface and its in-process and Redis implementations.
export type { Kv } from './kv.js';
export { MemoryKv, type MemoryKvOptions } from './memory-kv.js';
export { RedisKv, type RedisKvOptions } from './redis-kv.js';

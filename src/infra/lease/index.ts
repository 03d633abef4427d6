// The lease: the interface and its in-process and Redis implementations.
export type { Lease, LeaseGrant } from './lease.js';
export { MemoryLease } from './memory-lease.js';
export { RedisLease, type RedisLeaseOptions } from './redis-lease.js';

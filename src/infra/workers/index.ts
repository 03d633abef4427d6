// The live workers and what each can run: the interface and its in-process and Redis implementations.
export { WorkerCapabilitiesSchema, type WorkerCapabilities, type WorkerRegistry } from './worker-registry.js';
export { MemoryWorkerRegistry } from './memory-worker-registry.js';
export { RedisWorkerRegistry, type RedisWorkerRegistryOptions } from './redis-worker-registry.js';

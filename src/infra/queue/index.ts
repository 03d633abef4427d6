// The job queue: the interface, its in-process and BullMQ implementations, and their errors.
export type { Queue, QueueJob, Consumer, ConsumeOptions, EnqueueOptions, JobHandler } from './queue.js';
export type { QueueLog } from './delivery-policy.js';
export { DEFAULT_BACKOFF_MS, DEFAULT_MAX_ATTEMPTS } from './delivery-policy.js';
export { InvalidJobIdError, QueueClosedError, assertJobId } from './queue-errors.js';
export { MemoryQueue, type MemoryQueueOptions } from './memory-queue.js';
export { BullmqQueue, type BullmqQueueOptions } from './bullmq-queue.js';

// The edge's view of the failure codes: defined once in src/app/errors.ts (use cases throw them),
// mapped to HTTP statuses and error bodies there, in one place.
export * from '../app/errors.js';

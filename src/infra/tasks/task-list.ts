// The task model lives with the domain (src/project/task-model.ts); the parser and the selection
// here read it from there.
export * from '../../project/task-model.js';

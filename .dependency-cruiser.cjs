// Layering of src/ (conventions.md, "Where things live"), checked by `npm run lint:layers` with
// dependency-cruiser. Type-only imports count: a type import is still a dependency of the design.
// Known violations are fixed, never listed here as exceptions.

/** Node built-ins that reach outside the process (files, processes, network, host, workers). */
const NODE_IO =
  '^(node:)?(fs|fs/promises|child_process|net|tls|http|https|http2|dgram|dns|dns/promises|cluster|worker_threads|readline|readline/promises|os|process|inspector|module|repl|tty|v8|vm|perf_hooks|stream|stream/promises|timers|timers/promises)$';

/** Every Node built-in: src/client may use none of them. */
const NODE_BUILTIN = `^(node:)?(${require('node:module').builtinModules.map((m) => m.replace(/[/.]/g, '\\$&')).join('|')})$`;

/** npm packages that do I/O or only run on Node (the Node-only adapters live in src/infra and src/http). */
const IO_PACKAGES = [
  'execa',
  'postgres',
  'ioredis',
  'bullmq',
  'uWebSockets\\.js',
  'dockerode',
  'pino',
  'prom-client',
  'commander',
  'ws',
  'simple-git',
  '@electric-sql',
  '@statelyai/inspect',
];
const IO_PACKAGE_PATH = `(^|/)node_modules/(${IO_PACKAGES.join('|')})(/|$)`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycle anywhere in src/ (type-only imports included).',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'pure-core-no-io',
      severity: 'error',
      comment:
        'src/machines and src/project are pure: no I/O built-in and no I/O package, directly or through anything they import.',
      from: { path: '^src/(machines|project)/' },
      to: { reachable: true, path: [NODE_IO, IO_PACKAGE_PATH] },
    },
    {
      name: 'pure-core-no-outer-layers',
      severity: 'error',
      comment: 'src/machines and src/project import nothing from the layers that run them or do I/O.',
      from: { path: '^src/(machines|project)/' },
      to: { path: '^src/(infra|actors|http|steps|app)/|^src/(cli|cli-watch|runtime)\\.ts$' },
    },
    {
      name: 'http-not-steps-or-actors',
      severity: 'error',
      comment: 'src/http is the edge: it calls src/app, never the pipeline steps or the actor host.',
      from: { path: '^src/http/' },
      to: { path: '^src/(steps|actors)/' },
    },
    {
      name: 'infra-not-http-or-actors',
      severity: 'error',
      comment: 'Adapters never depend on the edge or the actor host.',
      from: { path: '^src/infra/' },
      to: { path: '^src/(http|actors)/' },
    },
    {
      name: 'client-no-node',
      severity: 'error',
      comment: 'src/client runs in browsers too: no Node built-in and no Node-only package, directly or transitively.',
      from: { path: '^src/client/' },
      to: { reachable: true, path: [NODE_BUILTIN, IO_PACKAGE_PATH] },
    },
    {
      name: 'client-no-node-builtin',
      severity: 'error',
      comment: 'src/client imports no Node built-in (node:* or bare core module).',
      from: { path: '^src/client/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing would hide a dependency from every rule above.',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|test)/|\\.test\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};

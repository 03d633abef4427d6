// The layering rules of .dependency-cruiser.cjs catch what they are for: each one is run (through the
// same CLI as `npm run lint:layers`) on a small fixture tree that breaks it once, beside code that
// keeps it, so a rule that silently matches nothing (a wrong path regex) fails here.
import { execFile } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/services.js';

const ROOT = resolve(import.meta.dirname, '../..');

const FIXTURE: Record<string, string> = {
  'src/machines/reads-files.ts': "import { readFile } from 'node:fs/promises';\nexport const r = readFile;\n",
  'src/machines/uses-infra.ts': "import { io } from '../infra/io.js';\nexport const u = io;\n",
  'src/machines/pure.ts': "import { z } from 'zod';\nimport { rule } from '../project/rule.js';\nexport const p = [z, rule];\n",
  'src/project/rule.ts': "import type { Shape } from '../client/shape.js';\nexport const rule = (s: Shape) => s;\n",
  'src/project/via-app.ts': "import { handler } from '../app/handler.js';\nexport const v = handler;\n",
  'src/project/logs.ts': "import pino from 'pino';\nexport const l = pino;\n",
  'src/app/handler.ts': "import { execa } from 'execa';\nexport const handler = execa;\n",
  'src/infra/io.ts': "import { spawn } from 'node:child_process';\nexport const io = spawn;\n",
  'src/infra/knows-edge.ts': "import type { Route } from '../http/route.js';\nexport type R = Route;\n",
  'src/http/route.ts': "import { run } from '../actors/run.js';\nimport { step } from '../steps/step.js';\nimport { handler } from '../app/handler.js';\nexport type Route = [typeof run, typeof step, typeof handler];\n",
  'src/actors/run.ts': 'export const run = 1;\n',
  'src/steps/step.ts': 'export const step = 1;\n',
  'src/client/shape.ts': 'export interface Shape { a: number }\n',
  'src/client/events.ts': "import { EventEmitter } from 'node:events';\nexport const e = EventEmitter;\n",
  'src/client/via-infra.ts': "import { io } from '../infra/io.js';\nexport const c = io;\n",
  'src/app/ping.ts': "import { pong } from './pong.js';\nexport const ping = () => pong;\n",
  'src/app/pong.ts': "import { ping } from './ping.js';\nexport const pong = () => ping;\n",
  'src/app/lost.ts': "import { gone } from './gone.js';\nexport const lost = gone;\n",
};

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

describe('layering rules (.dependency-cruiser.cjs)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let found: string[];

  beforeAll(async () => {
    dir = await tempDir('devteam-layering');
    for (const [path, text] of Object.entries(FIXTURE)) {
      await mkdir(dirname(join(dir.path, path)), { recursive: true });
      await writeFile(join(dir.path, path), text);
    }
    await writeFile(join(dir.path, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true }, include: ['src'] }));
    await writeFile(join(dir.path, 'package.json'), JSON.stringify({ type: 'module', dependencies: { zod: '*', pino: '*', execa: '*' } }));
    await symlink(join(ROOT, 'node_modules'), join(dir.path, 'node_modules'), 'dir');
    const cli = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
    const config = join(ROOT, '.dependency-cruiser.cjs');
    // Exit code = number of errors: read the report whatever it is.
    const { stdout } = await promisify(execFile)(process.execPath, [cli, 'src', '--config', config, '--output-type', 'json'], {
      cwd: dir.path,
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
    }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
    const violations = (JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations;
    found = violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
  }, 90_000);

  afterAll(async () => {
    await dir?.remove();
  });

  const expectFound = (line: string) => expect(found, found.join('\n')).toContain(line);

  it('refuses any import cycle', () => {
    expect(found.some((v) => v.startsWith('no-circular: src/app/ping.ts') || v.startsWith('no-circular: src/app/pong.ts'))).toBe(true);
  });

  it('keeps src/machines and src/project free of I/O, also through what they import', () => {
    expectFound('pure-core-no-io: src/machines/reads-files.ts → fs/promises');
    expectFound('pure-core-no-io: src/machines/uses-infra.ts → child_process');
    // node_modules is a symlink here: the package is reported by its real path.
    expect(found.some((v) => /^pure-core-no-io: src\/project\/logs\.ts → .*node_modules\/pino\//.test(v)), found.join('\n')).toBe(true);
    expect(found.some((v) => /^pure-core-no-io: src\/project\/via-app\.ts → .*node_modules\/execa\//.test(v)), found.join('\n')).toBe(true);
  });

  it('keeps src/machines and src/project from importing the outer layers', () => {
    expectFound('pure-core-no-outer-layers: src/machines/uses-infra.ts → src/infra/io.ts');
    expectFound('pure-core-no-outer-layers: src/project/via-app.ts → src/app/handler.ts');
  });

  it('lets src/http call src/app but not src/steps or src/actors', () => {
    expectFound('http-not-steps-or-actors: src/http/route.ts → src/actors/run.ts');
    expectFound('http-not-steps-or-actors: src/http/route.ts → src/steps/step.ts');
    expect(found.filter((v) => v.includes('src/http/route.ts → src/app/'))).toEqual([]);
  });

  it('keeps src/infra from the edge and the actor host (type imports count)', () => {
    expectFound('infra-not-http-or-actors: src/infra/knows-edge.ts → src/http/route.ts');
  });

  it('keeps src/client free of Node built-ins and Node-only packages, directly or transitively', () => {
    expectFound('client-no-node-builtin: src/client/events.ts → events');
    expectFound('client-no-node: src/client/events.ts → events');
    expectFound('client-no-node: src/client/via-infra.ts → child_process');
  });

  it('refuses an import that resolves to nothing', () => {
    expectFound('not-to-unresolvable: src/app/lost.ts → ./gone.js');
  });

  it('passes code that keeps the rules', () => {
    for (const clean of ['src/machines/pure.ts', 'src/project/rule.ts', 'src/client/shape.ts', 'src/actors/run.ts', 'src/steps/step.ts']) {
      expect(found.filter((v) => v.split(': ')[1]!.startsWith(`${clean} `)), clean).toEqual([]);
    }
  });
});

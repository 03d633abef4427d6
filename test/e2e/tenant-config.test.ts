// The compiled CLI and the tenancy settings: tenant sets whose secret namespaces overlap (or that
// name the reserved tenant "local") stop start-up with exit code 2 naming the tenants, and every
// value of the secret namespace is redacted from the service's log lines.
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, startService, type CliProcess } from '../support/cli-process.js';
import { tempDir } from '../support/services.js';

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('tenancy settings at start-up', () => {
  it('refuses tenants with overlapping secret namespaces with exit code 2, naming both', async () => {
    const { code, stderr } = await run(['serve'], { DEVTEAM_API_KEYS: 'acme:acme-key-0123456789abcdef,acme_:other-key-0123456789abcdef', DEVTEAM_DATA_DIR: '/nonexistent/never-opened' });
    expect(code).toBe(2);
    expect(stderr).toContain('DEVTEAM_API_KEYS: tenants "acme" and "acme_" have overlapping secret namespaces');
    expect(stderr).toContain('DEVTEAM_SECRET_ACME__');
  });

  it('refuses the reserved tenant "local" and a file remote root that is not absolute', async () => {
    const local = await run(['serve'], { DEVTEAM_API_KEYS: 'local:local-key-0123456789abcdef', DEVTEAM_DATA_DIR: '/nonexistent/never-opened' });
    expect(local.code).toBe(2);
    expect(local.stderr).toContain('the tenant "local" is reserved');
    const roots = await run(['serve'], { DEVTEAM_FILE_REMOTE_ROOTS: 'relative/dir', DEVTEAM_DATA_DIR: '/nonexistent/never-opened' });
    expect(roots.code).toBe(2);
    expect(roots.stderr).toContain('DEVTEAM_FILE_REMOTE_ROOTS');
  });
});

describe('secret namespace values in logs', () => {
  let proc: CliProcess | undefined;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const SECRET = 'ghp-local-secret-7f3a9c21';

  afterAll(async () => {
    await proc?.stop();
    await dir?.remove();
  });

  it('redacts every DEVTEAM_SECRET_* value from every log line', async () => {
    dir = await tempDir('devteam-secret-log');
    const started = await startService(['serve'], { DEVTEAM_DATA_DIR: dir.path, DEVTEAM_SECRET_LOCAL__GIT_TOKEN: SECRET });
    proc = started.proc;
    // The correlation id is bound to the request's log lines: a caller can make any text appear there.
    const res = await fetch(`http://127.0.0.1:${started.port}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-correlation-id': SECRET },
      body: JSON.stringify({ type: 'X', projectId: 'p', payload: {} }),
    });
    expect(res.status).toBe(202);
    const line = await proc.waitForLine((l) => l.msg === 'event accepted');
    expect(line.correlationId).toBe('[REDACTED]');
    expect(JSON.stringify(proc.lines) + proc.stderr.join('')).not.toContain(SECRET);
  });
});

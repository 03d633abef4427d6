import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactText, SecretRegistry } from '../../src/infra/log.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, destination };
}

const SECRETS = [
  'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
  'hunter2-super-secret',
  'sk-live-0123456789abcdef',
  'eyJhbGciOiJIUzI1NiJ9.payload.sig',
  'urlpassw0rd',
  'AKIAIOSFODNN7EXAMPLE-key',
  'registered-secret-value',
];

describe('log redaction', () => {
  it('removes tokens, passwords, Authorization headers and URL credentials from every line', () => {
    const { lines, destination } = capture();
    const secrets = new SecretRegistry();
    secrets.add('registered-secret-value');
    const log = createLogger({ destination, secrets, level: 'debug' });
    const child = log.child({ correlationId: 'c-1', projectId: 'acme-web', token: SECRETS[0] });
    child.info(
      {
        payload: {
          repository: { url: `https://x-access-token:${SECRETS[0]}@git.example.com/acme/web.git` },
          credentials: { password: SECRETS[1] },
          nested: [{ apiKey: SECRETS[2] }, { 'x-api-key': SECRETS[5] }],
          ACCESS_TOKEN: SECRETS[2],
          client_secret: SECRETS[1],
        },
        headers: { authorization: `Bearer ${SECRETS[3]}`, 'content-type': 'application/json' },
        db: `postgres://app:${SECRETS[4]}@db:5432/devteam`,
        note: `the value registered-secret-value came from tokenEnv`,
      },
      'event accepted',
    );
    child.warn(`clone of https://bot:${SECRETS[1]}@example.com/r.git failed with password=${SECRETS[4]}`);
    child.error({ err: new Error(`fetch https://u:${SECRETS[4]}@h/x failed: Bearer ${SECRETS[3]}`) }, 'boom');
    log.flush();

    const output = lines.join('\n');
    expect(lines.length).toBe(3);
    for (const secret of SECRETS) expect(output).not.toContain(secret);
    // What is not secret stays readable.
    const first = JSON.parse(lines[0]!);
    expect(first).toMatchObject({ correlationId: 'c-1', projectId: 'acme-web', msg: 'event accepted', level: 'info' });
    expect(first.payload.repository.url).toBe('https://[REDACTED]@git.example.com/acme/web.git');
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.headers.authorization).toBe('[REDACTED]');
    expect(first.token).toBe('[REDACTED]');
    expect(JSON.parse(lines[2]!).err.message).toContain('https://[REDACTED]@h/x');
  });

  it('leaves ordinary text alone', () => {
    const text = 'cloned https://git.example.com/acme/web.git at 3f2a; tokens counted: 12';
    expect(redactText(text)).toBe(text);
  });
});

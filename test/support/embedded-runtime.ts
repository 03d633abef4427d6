// An embedded runtime (API + worker in this process, PGlite, in-process queue) on a free port with
// its own data directory, file remotes allowed under it, and the calls tests make of it.
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/infra/log.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { eventually, tempDir } from './services.js';

export interface EmbeddedRuntime {
  dir: string;
  runtime: Runtime;
  url(path: string): string;
  /** POST a JSON body; the reply's status and parsed body. */
  post(path: string, body: unknown): Promise<{ status: number; body: Record<string, any>; text: string }>;
  /** POST …/initialize. */
  initialize(body: unknown): Promise<{ status: number; body: Record<string, any>; text: string }>;
  /** The project's status once it is completed, failed or stopped. */
  settled(projectId: string, timeoutMs?: number): Promise<{ status: string; lastError: string | null } & Record<string, any>>;
  stop(): Promise<void>;
}

export async function startEmbeddedRuntime(label: string, env: Record<string, string> = {}): Promise<EmbeddedRuntime> {
  const dir = await tempDir(label);
  const config = { PORT: '0', DEVTEAM_DATA_DIR: join(dir.path, 'data'), DEVTEAM_RECONCILE_MS: '200', DEVTEAM_FILE_REMOTE_ROOTS: dir.path, LOG_LEVEL: 'silent', ...env };
  const runtime = await startRuntime(loadConfig(config), { api: true, worker: true }, createLogger({ level: 'silent' }));
  const url = (path: string) => `http://127.0.0.1:${runtime.port}${path}`;
  const post = async (path: string, body: unknown) => {
    const res = await fetch(url(path), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, any>, text };
  };
  return {
    dir: dir.path,
    runtime,
    url,
    post,
    initialize: (body) => post('/api/devteam/automation/initialize', body),
    settled: (projectId, timeoutMs = 60_000) =>
      eventually(async () => {
        const s = (await (await fetch(url(`/api/devteam/automation/status/${projectId}`))).json()) as { status: string; lastError: string | null };
        return ['completed', 'failed', 'stopped'].includes(s.status) ? s : undefined;
      }, timeoutMs, `${projectId} to settle`),
    async stop() {
      await runtime.stop();
      await dir.remove();
    },
  };
}

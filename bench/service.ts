// Starts the real service (`devteam <role>`) as a child process for a benchmark and waits for
// its "started" line: benchmarks always go through the whole HTTP stack.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

export interface Service {
  child: ChildProcess;
  port: number | null;
  stop(): Promise<void>;
}

export function start(args: string[], env: Record<string, string>): Promise<Service> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH!, PORT: '0', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const line of buffer.split('\n')) {
        if (!line.includes('devteam runner started')) continue;
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        const port = (JSON.parse(line) as { port: number | null }).port;
        resolve({
          child,
          port,
          stop: () =>
            new Promise((done) => {
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`devteam ${args[0]} exited with ${code}`)));
  });
}


// How fast this machine serves HTTP right now: a bare node:http server answering a constant body
// in a child process, loaded by autocannon from this process exactly as the benches load the
// service. The quick gates were set on a machine doing REFERENCE_HELLO_RPS; on a slower one (a
// noisy neighbour, stolen CPU) they are scaled by the measured factor, so a gate fails on a
// regression of our code relative to the machine, not on the machine's day. Every bench prints it.
import { spawn } from 'node:child_process';
import autocannon from 'autocannon';

/**
 * Hello-world req/s (16 connections) of the machine the gates were set on. Derived, not measured:
 * on 2026-12-07 this machine did 13.3k hello req/s while the unchanged status bench of the previous
 * build did 11.4k req/s, against 40.6k in that build's CI run — 13.3k × 40.6 / 11.4 ≈ 47k. Replace it
 * with the hello rate a quiet CI run prints.
 */
export const REFERENCE_HELLO_RPS = 47_000;
/** Below this factor the machine is too slow for the gates to mean anything: they stop scaling. */
const MIN_FACTOR = 0.2;

const SERVER = `
const { createServer } = require('node:http');
const s = createServer((req, res) => { res.setHeader('content-type', 'application/json'); res.end('{"ok":true}'); });
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`;

export interface MachineSpeed {
  helloRps: number;
  /** helloRps / REFERENCE_HELLO_RPS, at most 1 and at least MIN_FACTOR: rates × factor, latencies ÷ factor. */
  factor: number;
  describe(): string;
}

/** Measures for `seconds` (after a 1 s warm-up) and returns the scaling factor of the gates. */
export async function machineSpeed(seconds = 3): Promise<MachineSpeed> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      child.once('exit', (code) => reject(new Error(`hello server exited with ${code}`)));
    });
    const url = `http://127.0.0.1:${port}/`;
    await autocannon({ url, connections: 16, duration: 1 });
    const result = await autocannon({ url, connections: 16, duration: seconds });
    const helloRps = result.requests.average;
    const factor = Math.max(MIN_FACTOR, Math.min(1, helloRps / REFERENCE_HELLO_RPS));
    return {
      helloRps,
      factor,
      describe: () =>
        `machine speed: a bare node:http server does ${Math.round(helloRps)} req/s here, ${(helloRps / REFERENCE_HELLO_RPS).toFixed(2)}× the ${REFERENCE_HELLO_RPS} of the machine the gates were set on: rate gates × ${factor.toFixed(2)}, latency gates ÷ ${factor.toFixed(2)}${factor === MIN_FACTOR ? ' (floor: slower machines are not gated more loosely)' : ''}`,
    };
  } finally {
    child.kill('SIGKILL');
  }
}

export const scaledRate = (gate: number, speed: MachineSpeed) => Math.round(gate * speed.factor);
export const scaledLatency = (gateMs: number, speed: MachineSpeed) => Math.round(gateMs / speed.factor);

// A small deterministic PRNG for fuzz and fault tests: the same seed gives the same sequence, so a
// failing run is replayed exactly from the seed it printed.

/** mulberry32: 32-bit state, good enough spread for picking test inputs, trivially reproducible. */
export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(0, items.length - 1)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.int(0, 255);
    return out;
  }

  /** A child generator for case `index`: cases can be replayed one by one without running the others. */
  fork(index: number): Prng {
    return new Prng((Math.imul(this.seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35)) >>> 0);
  }
}

/** The seed from `envName` (decimal or 0x-hex), else a fresh one; always printed so it can be replayed. */
export function seedFrom(envName: string, label: string): number {
  const raw = process.env[envName];
  const seed = raw ? Number(raw) >>> 0 : (Date.now() ^ (process.pid << 8)) >>> 0;
  console.log(`${label}: seed ${seed} (replay with ${envName}=${seed})`);
  return seed;
}

/** true when the long (thousands of cases, full fault counts) mode is asked for. */
export const LONG_MODE = process.env.DEVTEAM_FAULT_LONG === '1';

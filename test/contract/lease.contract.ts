// The Lease contract: every implementation (in-process, Redis) must pass these tests unchanged.
import { afterEach, describe, expect, it } from 'vitest';
import type { Lease, LeaseGrant } from '../../src/infra/lease/index.js';
import { eventually } from '../support/services.js';

export interface LeaseFixture {
  lease: Lease;
  cleanup(): Promise<void>;
}

export type MakeLease = () => Promise<LeaseFixture>;

const SHORT_TTL = 150;

/** Acquires `key` again and again until its lease has expired and this call gets it. */
function takeOverAfterExpiry(lease: Lease, key: string, ttlMs = 10_000): Promise<LeaseGrant> {
  return eventually(async () => (await lease.acquire(key, ttlMs)) ?? undefined, 5_000, `the lease on ${key} to expire`);
}

export function leaseContract(implementation: string, make: MakeLease): void {
  describe(`Lease contract: ${implementation}`, () => {
    const fixtures: LeaseFixture[] = [];

    async function setup(): Promise<Lease> {
      const fixture = await make();
      fixtures.push(fixture);
      return fixture.lease;
    }

    afterEach(async () => {
      await Promise.all(fixtures.splice(0).map((f) => f.cleanup()));
    });

    it('grants a free lease with a token, a fence and its expiry', async () => {
      const lease = await setup();
      const before = Date.now();
      const grant = await lease.acquire('project-a', 5_000);
      expect(grant).toMatchObject({ key: 'project-a', fence: expect.any(Number) });
      expect(grant!.token).toMatch(/^[0-9a-f-]{36}$/);
      expect(grant!.fence).toBeGreaterThanOrEqual(1);
      expect(grant!.expiresAt).toBeGreaterThanOrEqual(before + 5_000);
      expect(grant!.expiresAt).toBeLessThanOrEqual(Date.now() + 5_000);
    });

    it('refuses a lease that someone else holds', async () => {
      const lease = await setup();
      expect(await lease.acquire('project-a', 5_000)).not.toBeNull();
      expect(await lease.acquire('project-a', 5_000)).toBeNull();
    });

    it('lets another owner take an expired lease, with a strictly greater fence', async () => {
      const lease = await setup();
      const first = await lease.acquire('project-a', SHORT_TTL);
      expect(first).not.toBeNull();
      const second = await takeOverAfterExpiry(lease, 'project-a');
      expect(second.fence).toBeGreaterThan(first!.fence);
      expect(second.token).not.toBe(first!.token);
    });

    it('rejects renew and release with a stale token and leaves the new owner in place', async () => {
      const lease = await setup();
      const stale = (await lease.acquire('project-a', SHORT_TTL))!;
      const current = await takeOverAfterExpiry(lease, 'project-a');
      expect(await lease.renew(stale, 10_000)).toBe(false);
      expect(await lease.release(stale)).toBe(false);
      expect(await lease.acquire('project-a', 10_000)).toBeNull();
      expect(await lease.renew(current, 10_000)).toBe(true);
      expect(await lease.release(current)).toBe(true);
    });

    it('frees the lease on release, and the next owner gets a greater fence', async () => {
      const lease = await setup();
      const first = (await lease.acquire('project-a', 10_000))!;
      expect(await lease.release(first)).toBe(true);
      expect(await lease.release(first)).toBe(false);
      const second = await lease.acquire('project-a', 10_000);
      expect(second!.fence).toBeGreaterThan(first.fence);
    });

    it('keeps a renewed lease past its first ttl and moves its expiry', async () => {
      const lease = await setup();
      const grant = (await lease.acquire('project-a', 300))!;
      const firstExpiry = grant.expiresAt;
      expect(await lease.renew(grant, 10_000)).toBe(true);
      expect(grant.expiresAt).toBeGreaterThanOrEqual(firstExpiry + 9_000);
      // Wait for the first ttl to pass: a lease that had not been renewed would be free by now.
      await eventually(async () => (Date.now() > firstExpiry + 100 ? true : undefined), 5_000, 'the first ttl to pass');
      expect(await lease.acquire('project-a', 10_000)).toBeNull();
      expect(await lease.renew(grant, 10_000)).toBe(true);
    });

    it('grants exactly one of 20 concurrent acquires', async () => {
      const lease = await setup();
      const results = await Promise.all(Array.from({ length: 20 }, () => lease.acquire('contended', 10_000)));
      const winners = results.filter((g): g is LeaseGrant => g !== null);
      expect(winners).toHaveLength(1);
    });

    it('keeps leases and fences of different keys independent', async () => {
      const lease = await setup();
      const a1 = (await lease.acquire('a', 10_000))!;
      expect(await lease.release(a1)).toBe(true);
      const a2 = (await lease.acquire('a', 10_000))!;
      const b1 = await lease.acquire('b', 10_000);
      expect(b1).not.toBeNull();
      expect(b1!.fence).toBe(a1.fence);
      expect(a2.fence).toBe(a1.fence + 1);
      expect(await lease.release({ ...a2, key: 'b' })).toBe(false);
      expect(await lease.acquire('b', 10_000)).toBeNull();
    });
  });
}

// Exclusive, expiring ownership of a named resource (a project), with a fencing number that
// grows with every successful acquire so stale owners can be rejected downstream.

export interface LeaseGrant {
  key: string;
  /** Random token that proves ownership for renew/release. */
  token: string;
  /** Strictly increasing per key across acquisitions (never reused, survives expiry). */
  fence: number;
  /** Epoch ms at which the lease expires unless renewed. */
  expiresAt: number;
}

export interface Lease {
  /** Takes the lease when it is free or expired; null when someone else holds it. */
  acquire(key: string, ttlMs: number): Promise<LeaseGrant | null>;
  /** Extends the lease; false when the token no longer owns it (expired and taken, or released). */
  renew(grant: LeaseGrant, ttlMs: number): Promise<boolean>;
  /** Frees the lease if the token still owns it; false otherwise. */
  release(grant: LeaseGrant): Promise<boolean>;
  close(): Promise<void>;
}

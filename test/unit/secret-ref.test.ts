// Tenant secret namespaces: the prefix, membership, reading only inside it, and overlapping tenants.
import { describe, expect, it } from 'vitest';
import { findSecretPrefixClash, isTenantSecretName, readTenantSecret, SecretRefError, secretNamespaceValues, tenantSecretPrefix } from '../../src/project/index.js';

describe('tenant secret namespace', () => {
  it('upper-cases the tenant and turns "-" into "_"', () => {
    expect(tenantSecretPrefix('acme-eu')).toBe('DEVTEAM_SECRET_ACME_EU__');
    expect(tenantSecretPrefix('local')).toBe('DEVTEAM_SECRET_LOCAL__');
    expect(tenantSecretPrefix('Beta_2')).toBe('DEVTEAM_SECRET_BETA_2__');
  });

  it("names only variables inside the tenant's own prefix", () => {
    expect(isTenantSecretName('acme-eu', 'DEVTEAM_SECRET_ACME_EU__GIT_TOKEN')).toBe(true);
    for (const name of ['DEVTEAM_SECRET_ACME_EU__', 'DEVTEAM_SECRET_ACME__GIT_TOKEN', 'DEVTEAM_API_KEYS', 'DATABASE_URL', 'ANTHROPIC_API_KEY', 'devteam_secret_acme_eu__x', 'DEVTEAM_SECRET_ACME_EU__x-y']) {
      expect(isTenantSecretName('acme-eu', name), name).toBe(false);
    }
  });

  it('reads a secret of the namespace, and refuses to read anything else', () => {
    const env = { DEVTEAM_SECRET_ACME__GIT_TOKEN: 'ghp_acme', DEVTEAM_SECRET_ACME__EMPTY: '', DEVTEAM_API_KEYS: 'acme:k' };
    expect(readTenantSecret(env, 'acme', 'DEVTEAM_SECRET_ACME__GIT_TOKEN')).toBe('ghp_acme');
    expect(readTenantSecret(env, 'acme', 'DEVTEAM_SECRET_ACME__MISSING')).toBeUndefined();
    expect(readTenantSecret(env, 'acme', 'DEVTEAM_SECRET_ACME__EMPTY')).toBeUndefined();
    const read = new Proxy(env, {
      get(target, key) {
        throw new Error(`read ${String(key)}`);
      },
    });
    let error: unknown;
    try {
      readTenantSecret(read, 'acme', 'DEVTEAM_API_KEYS');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SecretRefError);
    expect(error).toMatchObject({ code: 'secret_outside_namespace', tenant: 'acme', variable: 'DEVTEAM_API_KEYS', allowedPrefix: 'DEVTEAM_SECRET_ACME__' });
    expect(() => readTenantSecret(env, 'beta', 'DEVTEAM_SECRET_ACME__GIT_TOKEN')).toThrow(SecretRefError);
  });

  it('finds tenants whose namespaces overlap', () => {
    expect(findSecretPrefixClash(['acme', 'beta', 'acme-eu', 'acme'])).toBeNull();
    expect(findSecretPrefixClash(['acme', 'acme_'])).toMatchObject({ tenant: 'acme', other: 'acme_', prefix: 'DEVTEAM_SECRET_ACME__', otherPrefix: 'DEVTEAM_SECRET_ACME___' });
    expect(findSecretPrefixClash(['a-b', 'x', 'a_b'])).toMatchObject({ tenant: 'a-b', other: 'a_b' });
    expect(findSecretPrefixClash(['Acme', 'acme'])).toMatchObject({ tenant: 'Acme', other: 'acme' });
  });

  it('lists the values of the whole namespace, for log redaction', () => {
    expect(secretNamespaceValues({ DEVTEAM_SECRET_A__X: 'one', DEVTEAM_SECRET_B__Y: 'two', DEVTEAM_SECRET_C__Z: '', OTHER: 'three' })).toEqual(['one', 'two']);
  });
});

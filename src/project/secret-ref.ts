// Secret references bound to the tenant: a project names the worker environment variables holding
// its secrets (repository.credentials.tokenEnv, agent.keyEnv), and a tenant may only name variables
// in its own namespace DEVTEAM_SECRET_<TENANT>__…, so the service's own variables
// (DEVTEAM_API_KEYS, DATABASE_URL, the operator's model keys) and other tenants' secrets can never
// be referenced. See ai_docs/decisions/0011-tenant-secret-namespace.md.

export const SECRET_NAMESPACE = 'DEVTEAM_SECRET_';
/** A whole variable name: upper-case letters, digits and "_", not starting with a digit. */
export const SECRET_NAME_PATTERN = /^[A-Z_][A-Z0-9_]{0,254}$/;

/** `acme-eu` → `DEVTEAM_SECRET_ACME_EU__`. Not injective (`a-b` and `a_b` share it): see findSecretPrefixClash. */
export function tenantSecretPrefix(tenant: string): string {
  return `${SECRET_NAMESPACE}${tenant.toUpperCase().replaceAll('-', '_')}__`;
}

/** Whether `name` is a variable of this tenant's namespace (something after the prefix). */
export function isTenantSecretName(tenant: string, name: string): boolean {
  const prefix = tenantSecretPrefix(tenant);
  return SECRET_NAME_PATTERN.test(name) && name.length > prefix.length && name.startsWith(prefix);
}

export class SecretRefError extends Error {
  readonly code = 'secret_outside_namespace' as const;
  constructor(
    readonly tenant: string,
    readonly variable: string,
    readonly allowedPrefix: string,
  ) {
    super(`tenant "${tenant}" may only read secrets named ${allowedPrefix}…, not ${variable}`);
    this.name = 'SecretRefError';
  }
}

/**
 * The value of a tenant's secret variable (undefined when unset or empty). Throws SecretRefError,
 * without reading anything, for a name outside the tenant's namespace: the edge refuses such names
 * already, this is the same rule again where the value is read (a config stored before the rule).
 */
export function readTenantSecret(env: Readonly<Record<string, string | undefined>>, tenant: string, name: string): string | undefined {
  if (!isTenantSecretName(tenant, name)) throw new SecretRefError(tenant, name, tenantSecretPrefix(tenant));
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Two distinct tenants whose namespaces overlap (one prefix starts the other, e.g. `acme` and
 * `acme_`, or `a-b` and `a_b`): either could name the other's secrets. Null when there is none.
 */
export function findSecretPrefixClash(tenants: Iterable<string>): { tenant: string; other: string; prefix: string; otherPrefix: string } | null {
  const distinct = [...new Set(tenants)];
  for (let i = 0; i < distinct.length; i++) {
    for (let j = i + 1; j < distinct.length; j++) {
      const [a, b] = [distinct[i]!, distinct[j]!];
      const [pa, pb] = [tenantSecretPrefix(a), tenantSecretPrefix(b)];
      if (pa.startsWith(pb) || pb.startsWith(pa)) return { tenant: a, other: b, prefix: pa, otherPrefix: pb };
    }
  }
  return null;
}

/** Every value held in the secret namespace of `env` (for log redaction at start-up). */
export function secretNamespaceValues(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.entries(env)
    .filter(([name, value]) => name.startsWith(SECRET_NAMESPACE) && value !== undefined && value !== '')
    .map(([, value]) => value!);
}

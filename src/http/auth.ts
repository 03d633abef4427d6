// Bearer API keys per tenant. With no keys configured the service runs in local single-user mode
// (said at start-up) and every caller is the tenant "local".
import { LOCAL_TENANT } from '../config.js';
import { ApiError } from './errors.js';

export { LOCAL_TENANT };

export function authenticate(authorization: string, apiKeys: ReadonlyMap<string, string>): string {
  if (apiKeys.size === 0) return LOCAL_TENANT;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  const tenant = match ? apiKeys.get(match[1]!) : undefined;
  if (!tenant) throw new ApiError('unauthorized', match ? 'unknown API key' : 'missing "Authorization: Bearer <api key>" header');
  return tenant;
}

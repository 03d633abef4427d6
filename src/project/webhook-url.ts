// Where a project's webhooks may go: an http(s) URL without credentials, and — unless the operator
// allowed it (DEVTEAM_WEBHOOK_ALLOW_PRIVATE=1) — not to this host or a private network, which a
// tenant could otherwise use to make the worker call internal services (SSRF). The same address
// rule is applied again to what the host name resolves to at each delivery (src/infra/webhooks).
import ipaddr from 'ipaddr.js';

export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** The ranges a webhook may reach: the public internet only. ipaddr.js names every other range. */
const PUBLIC_RANGES = new Set(['unicast']);

/**
 * Why a resolved or literal address may not receive webhooks (null: it may). IPv4-mapped IPv6
 * addresses (::ffff:127.0.0.1) are judged as the IPv4 address they carry.
 */
export function webhookAddressProblem(address: string): string | null {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const range = parsed.range();
  return PUBLIC_RANGES.has(range) ? null : `${address} is a ${range} address (loopback and private networks are refused unless the operator sets DEVTEAM_WEBHOOK_ALLOW_PRIVATE=1)`;
}

/** Host names that always mean this machine, whatever DNS says. */
function isLocalName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/** Why `value` cannot be a webhook URL (null: it can). */
export function webhookUrlProblem(value: string, opts: { allowPrivate: boolean }): string | null {
  if (value.length > MAX_WEBHOOK_URL_LENGTH) return `must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute http or https URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http or https URL';
  // Credentials would be stored with the project and shown in its configuration: name a secret instead.
  if (url.username || url.password) return 'must not contain credentials; the signature (notify.secretEnv) authenticates the runner';
  if (!url.hostname) return 'must name a host';
  if (opts.allowPrivate) return null;
  if (isLocalName(url.hostname)) return `${url.hostname} is this machine (refused unless the operator sets DEVTEAM_WEBHOOK_ALLOW_PRIVATE=1)`;
  const literal = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return ipaddr.isValid(literal) ? webhookAddressProblem(literal) : null;
}

// Reading what `strace -f -e trace=connect` recorded: every connect a process tree attempted, and
// which of them went somewhere other than the one address it was allowed to reach.
import { readFile } from 'node:fs/promises';

export interface ConnectAttempt {
  pid: number;
  family: string;
  /** IP address, unix socket path (`@name` for an abstract one), or the raw sockaddr for other families. */
  address: string;
  port: number | null;
  /** What connect returned ("0", "-1 ENETUNREACH (Network is unreachable)"), when strace saw it end. */
  result: string | null;
}

const CALL = /^(\d+)\s+connect\(\d+, \{sa_family=(\w+)(?:, (.*?))?\}, \d+(?:\) = (.*)| <unfinished \.\.\.>)$/;
const RESUMED = /^(\d+)\s+<\.\.\. connect resumed>\) = (.*)$/;

function addressOf(family: string, fields: string): { address: string; port: number | null } {
  const port = /sin6?_port=htons\((\d+)\)/.exec(fields)?.[1];
  if (family === 'AF_INET') return { address: /inet_addr\("([^"]+)"\)/.exec(fields)?.[1] ?? fields, port: port ? Number(port) : null };
  if (family === 'AF_INET6') return { address: /inet_pton\(AF_INET6, "([^"]+)"/.exec(fields)?.[1] ?? fields, port: port ? Number(port) : null };
  if (family === 'AF_UNIX') return { address: /sun_path=(@?)"([^"]*)"/.exec(fields)?.slice(1, 3).join('') ?? fields, port: null };
  return { address: fields, port: null };
}

/** Every connect in an strace output file (one line per call, each prefixed by its pid). */
export function parseConnects(trace: string): ConnectAttempt[] {
  const attempts: ConnectAttempt[] = [];
  const pending = new Map<number, ConnectAttempt>();
  for (const line of trace.split('\n')) {
    const call = CALL.exec(line);
    if (call) {
      const attempt: ConnectAttempt = { pid: Number(call[1]), family: call[2]!, ...addressOf(call[2]!, call[3] ?? ''), result: call[4] ?? null };
      attempts.push(attempt);
      if (call[4] === undefined) pending.set(attempt.pid, attempt);
      continue;
    }
    const resumed = RESUMED.exec(line);
    const attempt = resumed ? pending.get(Number(resumed[1])) : undefined;
    if (resumed && attempt) {
      attempt.result = resumed[2]!;
      pending.delete(attempt.pid);
    }
  }
  return attempts;
}

export async function readConnects(traceFile: string): Promise<ConnectAttempt[]> {
  return parseConnects(await readFile(traceFile, 'utf8'));
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** The attempts that are neither the model server (loopback:port) nor local (unix sockets, AF_UNSPEC disconnects). */
export function unaskedFor(attempts: readonly ConnectAttempt[], modelPort: number): ConnectAttempt[] {
  return attempts.filter((a) => {
    if (a.family === 'AF_UNIX' || a.family === 'AF_UNSPEC') return false;
    return !((a.family === 'AF_INET' || a.family === 'AF_INET6') && LOOPBACK.has(a.address) && a.port === modelPort);
  });
}

export function describeAttempt(a: ConnectAttempt): string {
  const where = a.port === null ? a.address : a.family === 'AF_INET6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  // A connect to port 53 is the resolver: the CLI was looking up a host name.
  const dns = a.port === 53 ? ', a DNS lookup' : '';
  return `${a.family} ${where} (pid ${a.pid}${dns}${a.result ? `, ${a.result}` : ''})`;
}

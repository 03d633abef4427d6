// The one pino logger factory: JSON lines, a child per request/job, and redaction configured
// once here so that no token, password, Authorization header or URL credential reaches output.
import { pino, type Logger, type DestinationStream, type LevelWithSilent } from 'pino';

export type { Logger };

const REDACTED = '[REDACTED]';

// Keys whose values are secrets wherever they appear (any depth, any case, `-`/`_` ignored).
const SECRET_KEY =
  /^(authorization|proxyauthorization|cookie|setcookie|password|passwd|pass|pwd|secret|token|apikey|apitoken|accesstoken|refreshtoken|idtoken|clientsecret|privatekey|credentials?|xapikey|auth)$|(token|secret|password|apikey)$/i;

// user:pass@ (or token@) inside URLs of any scheme, e.g. https://user:ghp_xxx@host/repo.git
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+(?::[^/\s@]*)?@/gi;
// "Bearer abc", "Basic abc", "token abc" in free text (headers copied into messages).
const AUTH_SCHEME = /\b(Bearer|Basic|token)\s+[A-Za-z0-9._~+/=-]{8,}/g;
// Key=value / key: value pairs in free text, e.g. "password=hunter2" or "api_key: abc".
const INLINE_SECRET = /\b(password|passwd|secret|token|api[_-]?key|access[_-]?token)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&"']+)/gi;

const MAX_DEPTH = 8;

/**
 * Literal secret values known at run time (API keys, tokens read through `tokenEnv`): removed from
 * every string logged, whatever the key. Values shorter than 6 chars are ignored to avoid
 * mangling ordinary words.
 */
export class SecretRegistry {
  private readonly values = new Set<string>();
  private pattern: RegExp | null = null;

  add(value: string | undefined | null): void {
    if (!value || value.length < 6 || this.values.has(value)) return;
    this.values.add(value);
    const alternatives = [...this.values]
      .sort((a, b) => b.length - a.length)
      .map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.pattern = new RegExp(alternatives.join('|'), 'g');
  }

  scrub(text: string): string {
    return this.pattern ? text.replace(this.pattern, REDACTED) : text;
  }
}

export function redactText(text: string, secrets?: SecretRegistry): string {
  let out = text;
  if (out.includes('://')) out = out.replace(URL_CREDENTIALS, `$1${REDACTED}@`);
  out = out.replace(AUTH_SCHEME, `$1 ${REDACTED}`);
  out = out.replace(INLINE_SECRET, `$1$2${REDACTED}`);
  return secrets ? secrets.scrub(out) : out;
}

function normalizedKey(key: string): string {
  return key.replace(/[-_]/g, '');
}

/** Returns a redacted copy of `value`; the input is never mutated. */
export function redactValue(value: unknown, secrets?: SecretRegistry, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value, secrets);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[Truncated]';
  if (Array.isArray(value)) return value.map((v) => redactValue(v, secrets, depth + 1));
  if (value instanceof Error) {
    return {
      type: value.name,
      message: redactText(value.message, secrets),
      ...(value.stack ? { stack: redactText(value.stack, secrets) } : {}),
      ...('code' in value ? { code: (value as { code: unknown }).code } : {}),
      ...(value.cause !== undefined ? { cause: redactValue(value.cause, secrets, depth + 1) } : {}),
    };
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(normalizedKey(key)) && v !== null && v !== undefined && v !== ''
      ? REDACTED
      : redactValue(v, secrets, depth + 1);
  }
  return out;
}

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Where lines go; stdout by default (tests pass a stream to inspect output). */
  destination?: DestinationStream;
  secrets?: SecretRegistry;
  base?: Record<string, unknown>;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const secrets = opts.secrets;
  const logger = pino(
    {
      level: opts.level ?? 'info',
      base: { pid: process.pid, ...opts.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      formatters: {
        level: (label) => ({ level: label }),
        // Runs for every line: one walk, no per-path configuration to forget.
        log: (obj) => redactValue(obj, secrets) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          // Free-text messages and printf-style arguments are scrubbed too.
          const scrubbed = args.map((a) => (typeof a === 'string' ? redactText(a, secrets) : a));
          return method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
      serializers: {
        err: (err: unknown) => redactValue(err, secrets),
      },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
  // pino's formatters do not see child bindings; children are created with Object.create(parent),
  // so this own property is inherited by every descendant.
  const child = logger.child;
  logger.child = function redactedChild(this: Logger, bindings, options) {
    return child.call(this, redactValue(bindings, secrets) as typeof bindings, options);
  } as Logger['child'];
  return logger;
}

// The malformed inputs of the fuzz suite: hostile JSON values for every field position, hostile
// path ids and header values, and a serializer that puts a raw fragment (bytes, not a JS value —
// so lone surrogates, NUL escapes, 1e999 and 5,000-deep nesting reach the server verbatim) at one
// position of an otherwise valid body.

export interface Nasty {
  label: string;
  /** Raw JSON text (or bytes) placed at the position. */
  json: string | Buffer;
  /** No field of this API can hold it (the store or git would refuse it): the edge must answer 4xx. */
  mustReject?: boolean;
}

const DEPTH = 5_000;
export const deepArray = (depth = DEPTH) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
export const deepObject = (depth = DEPTH) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

/** `@CANARY@` is replaced by a file path that must never come to exist (a command run from input). */
export function nastyValues(canary: string): Nasty[] {
  const s = (label: string, text: string, mustReject = false): Nasty => ({ label, json: JSON.stringify(text).replaceAll('@CANARY@', canary), mustReject });
  const raw = (label: string, json: string, mustReject = false): Nasty => ({ label, json, mustReject });
  return [
    raw('NUL escape', '"\\u0000"', true),
    raw('NUL inside', '"a\\u0000b"', true),
    raw('lone high surrogate', '"\\ud800"', true),
    raw('lone low surrogate', '"x\\udfff"', true),
    raw('reversed surrogates', '"\\udc00\\ud800"', true),
    { label: 'CESU-8 surrogate bytes', json: Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]) },
    { label: 'overlong NUL bytes', json: Buffer.from([0x22, 0xc0, 0x80, 0x22]) },
    { label: 'invalid UTF-8 byte', json: Buffer.from([0x22, 0x61, 0xff, 0xfe, 0x22]) },
    raw('deep array 5000', deepArray(), true),
    raw('deep object 5000', deepObject(), true),
    raw('empty string', '""'),
    raw('space', '" "'),
    s('dash', '-'),
    s('option injection', '--upload-pack=touch @CANARY@'),
    s('ext transport', 'ext::sh -c touch% @CANARY@'),
    s('traversal', '../../../../etc/passwd'),
    s('encoded traversal', '..%2f..%2f..%2fetc%2fpasswd'),
    s('unicode', 'é🙂\u202eﬁ\u0301'),
    s('control chars', '\u0001\u001b[31m\r\n\t'),
    s('newline injection', 'a\nb: c'),
    s('shell metachars', '$(touch @CANARY@);`touch @CANARY@`|&'),
    s('SQL quote', "'; DROP TABLE events; --"),
    s('file url', 'file:///etc'),
    s('local url with creds', 'http://user:pass@127.0.0.1:9/x.git'),
    s('local url with space', 'http://127.0.0.1:9/x y.git'),
    s('local ssh url', 'ssh://-oProxyCommand=touch%20@CANARY@/x'),
    s('long string 70k', 'a'.repeat(70_000)),
    raw('1e999', '1e999'),
    raw('-1e999', '-1e999'),
    raw('1e-999', '1e-999'),
    raw('30-digit integer', '123456789012345678901234567890'),
    raw('2^53+1', '9007199254740993'),
    raw('-0', '-0'),
    raw('negative', '-1'),
    raw('fraction', '0.5'),
    raw('2^31', '2147483648'),
    raw('null', 'null'),
    raw('true', 'true'),
    raw('false', 'false'),
    raw('empty array', '[]'),
    raw('empty object', '{}'),
    raw('array of string', '["a"]'),
    raw('nested object', '{"a":{"b":[1,"x",null]}}'),
    raw('__proto__ object', '{"__proto__":{"polluted":true}}'),
    raw('constructor prototype', '{"constructor":{"prototype":{"polluted":true}}}'),
  ];
}

/** Hostile JSON keys, used as unknown fields and as payload keys. */
export const NASTY_KEYS = ['"\\u0000"', '"\\ud800"', '""', '"__proto__"', '"constructor"', '"a.b"', '"$where"', '"é🙂"', JSON.stringify('k'.repeat(5000))];

/** A path into a JSON value. */
export type JsonPath = Array<string | number>;

export type Mutation =
  | { kind: 'replace'; path: JsonPath; fragment: string | Buffer }
  | { kind: 'add-key'; path: JsonPath; key: string; fragment: string | Buffer }
  | { kind: 'remove'; path: JsonPath };

const same = (a: JsonPath, b: JsonPath) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Every position of `value` (objects, arrays and leaves), root first. */
export function pathsOf(value: unknown, at: JsonPath = []): JsonPath[] {
  const out: JsonPath[] = [at];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...pathsOf(v, [...at, i])));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...at, k]));
  return out;
}

/** Object positions of `value` (where an unknown field can be added). */
export function objectPathsOf(value: unknown): JsonPath[] {
  return pathsOf(value).filter((p) => {
    let v: unknown = value;
    for (const k of p) v = (v as Record<string | number, unknown>)[k];
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  });
}

/** Serializes `value` with one mutation applied, as bytes. */
export function serializeWith(value: unknown, mutation: Mutation | null): Buffer {
  const parts: Buffer[] = [];
  const put = (x: string | Buffer) => parts.push(typeof x === 'string' ? Buffer.from(x, 'utf8') : x);
  const walk = (v: unknown, at: JsonPath) => {
    if (mutation?.kind === 'replace' && same(mutation.path, at)) return put(mutation.fragment);
    if (Array.isArray(v)) {
      put('[');
      let first = true;
      v.forEach((item, i) => {
        if (mutation?.kind === 'remove' && same(mutation.path, [...at, i])) return;
        if (!first) put(',');
        first = false;
        walk(item, [...at, i]);
      });
      return put(']');
    }
    if (v && typeof v === 'object') {
      put('{');
      let first = true;
      for (const [k, item] of Object.entries(v)) {
        if (mutation?.kind === 'remove' && same(mutation.path, [...at, k])) continue;
        if (!first) put(',');
        first = false;
        put(`${JSON.stringify(k)}:`);
        walk(item, [...at, k]);
      }
      if (mutation?.kind === 'add-key' && same(mutation.path, at)) {
        if (!first) put(',');
        put(`${mutation.key}:`);
        put(mutation.fragment);
      }
      return put('}');
    }
    put(JSON.stringify(v));
  };
  walk(value, []);
  return Buffer.concat(parts);
}

export function describePath(path: JsonPath): string {
  return path.length === 0 ? '(body)' : path.join('.');
}

/** Hostile {id} path segments, sent as is in the request target. */
export const NASTY_IDS: Array<{ label: string; id: string }> = [
  { label: 'empty', id: '' },
  { label: 'dot', id: '.' },
  { label: 'dotdot', id: '..' },
  { label: 'traversal', id: '../../../../etc/passwd' },
  { label: 'encoded traversal', id: '%2e%2e%2f%2e%2e%2fetc%2fpasswd' },
  { label: 'encoded slash', id: 'a%2Fb' },
  { label: 'percent NUL', id: 'a%00b' },
  { label: 'raw NUL', id: 'a\u0000b' },
  { label: 'percent FF', id: '%ff' },
  { label: 'overlong NUL', id: '%c0%80' },
  { label: 'encoded surrogate', id: '%ed%a0%80' },
  { label: 'lone percent', id: '%' },
  { label: 'bad percent', id: '%zz' },
  { label: 'truncated percent', id: 'ab%2' },
  { label: 'unicode encoded', id: '%C3%BC%F0%9F%99%82' },
  { label: 'raw UTF-8', id: Buffer.from('ü🙂', 'utf8').toString('latin1') },
  { label: 'leading dash', id: '-rf' },
  { label: 'option', id: '--help' },
  { label: 'too long 129', id: 'x'.repeat(129) },
  { label: 'very long 6000', id: 'x'.repeat(6_000) },
  { label: 'space encoded', id: 'a%20b' },
  { label: 'tab encoded', id: 'a%09b' },
  { label: 'CRLF encoded', id: 'a%0d%0aX-Injected:%201' },
  { label: 'semicolon', id: 'a;b' },
  { label: 'SQL', id: "x'%20OR%20'1'='1" },
  { label: 'template', id: '${jndi:ldap:%2f%2f127.0.0.1:9%2fa}' },
  { label: 'nil uuid', id: '00000000-0000-0000-0000-000000000000' },
  { label: 'max uuid', id: 'ffffffff-ffff-ffff-ffff-ffffffffffff' },
  { label: 'braced uuid', id: '{6f1c2a3b-1d2e-4f50-8a9b-0c1d2e3f4a5b}' },
  { label: 'uuid with junk', id: '6f1c2a3b-1d2e-4f50-8a9b-0c1d2e3f4a5b.json' },
  { label: 'uuid too long', id: '6f1c2a3b-1d2e-4f50-8a9b-0c1d2e3f4a5bb' },
  { label: 'number', id: '12345' },
  { label: 'huge number', id: '9'.repeat(400) },
  { label: 'query in id', id: 'a?b=c' },
  { label: 'fragment in id', id: 'a#b' },
];

export const CONTENT_TYPES = [
  null,
  '',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  'application/jsonp',
  'application/json-patch',
  'APPLICATION/JSON',
  'application/vnd.api+json',
  'application/json\t; charset=utf-8',
  'application/json, text/plain',
  ' application/json',
  'application/\u00e9json',
  '*/*',
  'x'.repeat(5_000),
];

export const CORRELATION_IDS = ['', ' ', 'a b', 'x'.repeat(129), 'x'.repeat(9_000), '\u00e9', '../x', 'a,b', '<script>', '%00'];
export const IDEMPOTENCY_KEYS = ['', ' ', 'x'.repeat(300), 'x'.repeat(9_000), '\u00e9\u00e9', 'a,b', 'k\tk', '../../k', '%00'];

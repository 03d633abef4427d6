// JSON values the store contracts round-trip, and a probe that tells who serialized a value: the
// store (once, before its first await, json-text.ts) or the driver (again, while writing the query).

/** Unicode and numbers at the edges of what JSON text and a float64 hold; no U+0000 (jsonb refuses it). */
export const AWKWARD_JSON = {
  unicode: ['😀 astral', 'e\u0301 combining', 'עברית RTL', 'line\u2028separator\u2029', 'tab\t"quote"\\backslash/', '\\u0000 as text', ''],
  '🔑 ключ': { '': 'empty key', 'ü': 'ü' },
  numbers: [
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
    2 ** 53 + 2,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    1e300,
    -1e-300,
    0.1 + 0.2,
    123456789.123456789,
    0,
    -1,
  ],
  bigAsText: '123456789012345678901234567890',
  flags: [true, false, null],
  deep: Array.from({ length: 60 }).reduce<unknown>((inner) => ({ inner }), { leaf: 'bottom' }),
  wide: Array.from({ length: 2_000 }, (_, i) => i * 7),
} as const;

/** A value whose toJSON counts its calls; `value` serializes as `{ probed: true }`. */
export function serializationProbe(): { value: object; calls: () => number } {
  let calls = 0;
  return {
    value: {
      toJSON() {
        calls++;
        return { probed: true };
      },
    },
    calls: () => calls,
  };
}

/** A value JSON.stringify throws on. */
export function unserializable(): object {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  return cyclic;
}

// JSON values go to the database as text we serialized ourselves, cast in SQL ($n::text::jsonb):
// postgres.js must never serialize a value itself. Its serializer runs while the query is being
// written to the connection, after the query was queued; one that throws there (JSON.stringify's
// RangeError on a deeply nested value, a toJSON that throws) fails another query and leaves every
// later reply matched to the wrong query. Here the failure is this call's own typed error.

export class JsonValueError extends Error {
  readonly code = 'invalid_json_value' as const;
  constructor(
    readonly reason: 'not_serializable' | 'undefined',
    options?: { cause?: unknown },
  ) {
    super(reason === 'undefined' ? 'the value is undefined, which JSON cannot hold' : 'the value cannot be serialized as JSON (too deeply nested or cyclic)', options);
    this.name = 'JsonValueError';
  }
}

/** `value` as JSON text for a `::text::jsonb` parameter; throws JsonValueError before any query exists. */
export function jsonText(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new JsonValueError('not_serializable', { cause: error });
  }
  if (text === undefined) throw new JsonValueError('undefined');
  return text;
}

/**
 * The driver's own json serializer, installed for json/jsonb parameters as a second line: it never
 * throws while a query is being written. A value it cannot serialize becomes text the server
 * refuses (22P02) for this query alone, so replies stay matched to their queries.
 */
export function driverJsonSerializer(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return '{"unserializable": ';
  }
}

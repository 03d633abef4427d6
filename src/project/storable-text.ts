// Values the store can hold as sent: Postgres refuses U+0000 in text and jsonb, and a lone UTF-16
// surrogate (e.g. "\ud800" unpaired) has no UTF-8 form; a number out of range (1e999 parses as
// Infinity) would come back as null, and a "__proto__" key would be lost by the first copy of
// the object. Checked at the edge, for every key and value: refused, never silently changed.

export type TextProblem = 'nul' | 'lone_surrogate' | 'not_finite' | 'reserved_key';

export const TEXT_PROBLEM_MESSAGES: Record<TextProblem, string> = {
  nul: 'must not contain U+0000 (NUL): the database cannot store it',
  lone_surrogate: 'must not contain an unpaired UTF-16 surrogate such as \\ud800: it has no UTF-8 form',
  not_finite: 'must be a number within the range of a double (this one parses as Infinity)',
  reserved_key: 'must not be the key "__proto__": it does not survive as an ordinary key',
};

// Without the u flag the pattern sees UTF-16 code units: a high surrogate not followed by a low
// one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function textProblem(text: string): TextProblem | null {
  if (text.includes('\u0000')) return 'nul';
  if (LONE_SURROGATE.test(text)) return 'lone_surrogate';
  return null;
}

export interface UnstorableText {
  /** Keys and indices from the root down to the offending key or value. */
  path: Array<string | number>;
  /** Whether the key named by the last path element is itself the offending string. */
  inKey: boolean;
  problem: TextProblem;
}

/**
 * The first string (object key or value, at any depth) the store cannot hold, or null. Iterative,
 * so it cannot overflow the stack whatever the nesting (the edge bounds nesting separately).
 */
export function findUnstorableText(value: unknown): UnstorableText | null {
  const stack: Array<{ value: unknown; path: Array<string | number> }> = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === 'string') {
      const problem = textProblem(current);
      if (problem) return { path, inKey: false, problem };
    } else if (typeof current === 'number') {
      if (!Number.isFinite(current)) return { path, inKey: false, problem: 'not_finite' };
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], path: [...path, i] });
    } else if (current !== null && typeof current === 'object') {
      const entries = Object.entries(current);
      for (const [key] of entries) {
        const problem = key === '__proto__' ? 'reserved_key' : textProblem(key);
        if (problem) return { path: [...path, key], inKey: true, problem };
      }
      for (let i = entries.length - 1; i >= 0; i--) stack.push({ value: entries[i]![1], path: [...path, entries[i]![0]] });
    }
  }
  return null;
}

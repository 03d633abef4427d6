// Nesting depth of a JSON text, counted on the raw text before JSON.parse sees it: brackets outside
// strings. A body nested thousands of levels deep is refused here, so neither JSON.parse nor any
// later JSON.stringify (the database driver's, a log line's) ever walks it.

/** Deepest nesting accepted in a request body; the body object itself is level 1. */
export const MAX_JSON_DEPTH = 32;

export interface DepthViolation {
  /** The top-level key (or array index) under which the nesting goes too deep; `(body)` if none. */
  field: string;
  maxDepth: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

/**
 * The first place where `text` nests deeper than `maxDepth`, or null. Malformed JSON is not judged
 * here (JSON.parse reports it); only brackets outside string literals count.
 */
export function findDepthViolation(text: string, maxDepth = MAX_JSON_DEPTH): DepthViolation | null {
  let depth = 0;
  let topIsArray = false;
  let topIndex = 0;
  // The last string literal that closed at depth 1: in an object, the key of the value that follows.
  let keyStart = -1;
  let keyEnd = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i;
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === BACKSLASH) i++;
        else if (s === QUOTE) break;
      }
      if (depth === 1) [keyStart, keyEnd] = [start, i];
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
      if (depth === 1) topIsArray = c === OPEN_BRACKET;
      if (depth > maxDepth) return { field: topField(text, topIsArray, topIndex, keyStart, keyEnd), maxDepth };
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    } else if (c === COMMA && depth === 1) {
      topIndex++;
    }
  }
  return null;
}

function topField(text: string, topIsArray: boolean, index: number, keyStart: number, keyEnd: number): string {
  if (topIsArray) return String(index);
  if (keyStart < 0) return '(body)';
  try {
    // One short string literal: safe to parse.
    const key: unknown = JSON.parse(text.slice(keyStart, keyEnd + 1));
    return typeof key === 'string' ? key : '(body)';
  } catch {
    return '(body)';
  }
}

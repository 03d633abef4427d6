// Finds secrets in text that is about to leave the worker or be stored: secretlint's recommended
// rules (cloud keys, tokens, private keys…) through its Node API, plus the exact values of every
// secret this worker holds. A hit names where (file, line, rule), never the value.
import { lintSource } from '@secretlint/core';
import { creator as recommended } from '@secretlint/secretlint-rule-preset-recommend';
import type { AddedLine } from '../repo/index.js';

/** Shorter values would match ordinary text (a key variable set to "x" in a test setup). */
const MIN_KNOWN_SECRET_LENGTH = 8;
export const REDACTED = '[REDACTED]';
/** The rule of a hit on a value this worker holds. */
export const KNOWN_SECRET_RULE = 'worker-secret';

export interface SecretHit {
  commit: string;
  path: string;
  line: number;
  /** The secretlint rule, or KNOWN_SECRET_RULE. */
  rule: string;
}

/** A change that adds secrets: refused before it is merged (it names where, never the value). */
export class SecretInDiffError extends Error {
  override readonly name = 'SecretInDiffError';
  readonly code = 'secret_in_diff' as const;
  constructor(
    readonly hits: readonly SecretHit[],
    what: string,
  ) {
    const where = hits.slice(0, 10).map((h) => `${h.path}:${h.line} (${h.rule})`);
    super(`${what} adds ${hits.length === 1 ? 'a secret' : `${hits.length} secrets`} at ${where.join(', ')}${hits.length > 10 ? ', …' : ''}; nothing was merged or pushed`);
  }
}

const CONFIG = { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: recommended }] };

export class SecretScanner {
  private readonly known: string[];

  /** `known`: the exact values to look for besides secretlint's rules (workerSecretValues, API keys). */
  constructor(known: Iterable<string | undefined>) {
    // Longest first, so a value containing another is redacted whole.
    this.known = [...new Set([...known].filter((v): v is string => typeof v === 'string' && v.length >= MIN_KNOWN_SECRET_LENGTH))].sort((a, b) => b.length - a.length);
  }

  /** The secrets among added lines, in the order of the lines. */
  async scan(lines: readonly AddedLine[]): Promise<SecretHit[]> {
    const hits: SecretHit[] = [];
    // One text per file and commit, its lines in order: secretlint rules that span lines (private keys) still match.
    const groups = new Map<string, AddedLine[]>();
    for (const l of lines) {
      const key = `${l.commit}\0${l.path}`;
      const group = groups.get(key);
      // Appended in place: a copy per line would be quadratic in a large file's added lines.
      if (group) group.push(l);
      else groups.set(key, [l]);
    }
    for (const group of groups.values()) {
      const { commit, path } = group[0]!;
      for (const l of group) if (this.known.some((v) => l.text.includes(v))) hits.push({ commit, path, line: l.line, rule: KNOWN_SECRET_RULE });
      for (const m of await this.lint(path, group.map((l) => l.text).join('\n'))) {
        const at = group[m.line - 1];
        if (at) hits.push({ commit, path, line: at.line, rule: m.rule });
      }
    }
    return hits.sort((a, b) => (a.path === b.path ? a.line - b.line : a.path < b.path ? -1 : 1));
  }

  /** `text` with every value this worker holds replaced by REDACTED: cheap enough for every output line. */
  redactKnown(text: string): string {
    let out = text;
    for (const v of this.known) if (out.includes(v)) out = out.split(v).join(REDACTED);
    return out;
  }

  /** `text` with every known value and every secretlint finding replaced by REDACTED. */
  async redact(text: string): Promise<string> {
    let out = this.redactKnown(text);
    const ranges = (await this.lint('artifact.txt', out)).map((m) => m.range).sort((a, b) => b[0] - a[0]);
    let limit = out.length;
    for (const [start, end] of ranges) {
      // From the end backwards; a finding overlapping one already replaced is cut at its start.
      out = `${out.slice(0, start)}${REDACTED}${out.slice(Math.min(end, limit))}`;
      limit = start;
    }
    return out;
  }

  private async lint(filePath: string, content: string): Promise<Array<{ rule: string; line: number; range: [number, number] }>> {
    if (!content) return [];
    const ext = /\.[^./]+$/.exec(filePath)?.[0] ?? '';
    const result = await lintSource({ source: { filePath, content, contentType: 'text', ext }, options: { config: CONFIG, maskSecrets: true } });
    return result.messages.map((m) => ({ rule: m.ruleId, line: m.loc.start.line, range: m.range as [number, number] }));
  }
}

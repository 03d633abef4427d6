// Which tools a place (a sandbox, or the host) has, and their versions: one fixed script run
// with the tool names as arguments, so the check costs one process start, not one per tool.
import { OPTIONAL_TOOLS, REQUIRED_TOOLS, type SandboxHealth, type ToolVersion } from './sandbox.js';

/** Prints "<name>\t<path>\t<first line of --version>" per tool, with empty fields when absent. */
const SCRIPT =
  'for t do if p=$(command -v "$t" 2>/dev/null); then printf "%s\\t%s\\t%s\\n" "$t" "$p" "$("$t" --version 2>&1 </dev/null | head -n 1)"; else printf "%s\\t\\t\\n" "$t"; fi; done';

export type RunForToolCheck = (argv: readonly string[]) => Promise<{ exitCode: number | null; stdout: string }>;

export function toolCheckArgv(tools: readonly string[]): string[] {
  return ['sh', '-c', SCRIPT, 'tool-check', ...tools];
}

export function parseToolCheck(stdout: string, tools: readonly string[]): ToolVersion[] {
  const found = new Map<string, { path: string; version: string }>();
  for (const line of stdout.split('\n')) {
    const [name, path, ...version] = line.split('\t');
    if (name && path) found.set(name, { path, version: version.join('\t').trim() });
  }
  return tools.map((name) => {
    const hit = found.get(name);
    // A tool that printed no version is still there; its path says so.
    return { name, version: hit ? hit.version || '(no version printed)' : null, path: hit?.path ?? null };
  });
}

export async function checkTools(
  run: RunForToolCheck,
  required: readonly string[] = REQUIRED_TOOLS,
  optional: readonly string[] = OPTIONAL_TOOLS,
): Promise<SandboxHealth> {
  const tools = [...required, ...optional.filter((t) => !required.includes(t))];
  const result = await run(toolCheckArgv(tools));
  const versions = result.exitCode === 0 ? parseToolCheck(result.stdout, tools) : tools.map((name) => ({ name, version: null, path: null }));
  const missingRequired = versions.filter((t) => required.includes(t.name) && t.version === null).map((t) => t.name);
  return { ok: missingRequired.length === 0, tools: versions, missingRequired };
}

/** Prints "<name>\t<path>" per tool found; no version (a CLI's --version can take a second). */
const LOCATE_SCRIPT = 'for t do if p=$(command -v "$t" 2>/dev/null); then printf "%s\\t%s\\n" "$t" "$p"; fi; done';

/** Where the place's PATH finds each tool (null when absent): one process start for all of them. */
export async function locateTools(run: RunForToolCheck, tools: readonly string[]): Promise<Record<string, string | null>> {
  const result = await run(['sh', '-c', LOCATE_SCRIPT, 'locate-tools', ...tools]);
  if (result.exitCode !== 0) throw new Error(`locating tools failed (exit ${result.exitCode})`);
  const found: Record<string, string | null> = Object.fromEntries(tools.map((t) => [t, null]));
  for (const line of result.stdout.split('\n')) {
    const [name, path] = line.split('\t');
    if (name && path && name in found) found[name] = path;
  }
  return found;
}

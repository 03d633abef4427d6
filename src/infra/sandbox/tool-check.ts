// Which tools a place (a sandbox, or the host) has, and their versions: one fixed script run
// with the tool names as arguments, so the check costs one process start, not one per tool.
import { OPTIONAL_TOOLS, REQUIRED_TOOLS, type SandboxHealth, type ToolVersion } from './sandbox.js';

/** Prints "<name>\t<first line of --version>" per tool, with an empty version when absent. */
const SCRIPT = 'for t do if command -v "$t" >/dev/null 2>&1; then printf "%s\\t%s\\n" "$t" "$("$t" --version 2>&1 </dev/null | head -n 1)"; else printf "%s\\t\\n" "$t"; fi; done';

export type RunForToolCheck = (argv: readonly string[]) => Promise<{ exitCode: number | null; stdout: string }>;

export function toolCheckArgv(tools: readonly string[]): string[] {
  return ['sh', '-c', SCRIPT, 'tool-check', ...tools];
}

export function parseToolCheck(stdout: string, tools: readonly string[]): ToolVersion[] {
  const found = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) found.set(line.slice(0, tab), line.slice(tab + 1).trim());
  }
  return tools.map((name) => ({ name, version: found.get(name) || null }));
}

export async function checkTools(
  run: RunForToolCheck,
  required: readonly string[] = REQUIRED_TOOLS,
  optional: readonly string[] = OPTIONAL_TOOLS,
): Promise<SandboxHealth> {
  const tools = [...required, ...optional.filter((t) => !required.includes(t))];
  const result = await run(toolCheckArgv(tools));
  const versions = result.exitCode === 0 ? parseToolCheck(result.stdout, tools) : tools.map((name) => ({ name, version: null }));
  const missingRequired = versions.filter((t) => required.includes(t.name) && t.version === null).map((t) => t.name);
  return { ok: missingRequired.length === 0, tools: versions, missingRequired };
}

// The prompt templates of this package (ai_docs/prompts), read once per directory and checked
// against the placeholders the renderer knows; rendering itself is pure (src/project/prompt.ts).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkTemplate, PROMPT_TEMPLATES_PATH, PromptTemplateError, type PromptTemplates } from '../project/index.js';

const templateCache = new Map<string, Promise<PromptTemplates>>();

/** Reads (once per directory, for the life of the process) and checks the templates. */
export function loadPromptTemplates(dir: string = defaultPromptTemplatesDir()): Promise<PromptTemplates> {
  let loaded = templateCache.get(dir);
  if (!loaded) {
    loaded = readTemplates(dir);
    // A failed read is not cached: the next call retries.
    loaded.catch(() => templateCache.delete(dir));
    templateCache.set(dir, loaded);
  }
  return loaded;
}

/** `ai_docs/prompts` at the package root, found from this module (works from src/ and dist/src/). */
export function defaultPromptTemplatesDir(moduleUrl: string | URL = import.meta.url): string {
  let dir = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, PROMPT_TEMPLATES_PATH);
    const parent = dirname(dir);
    if (parent === dir) throw new PromptTemplateError('prompt_template_unreadable', `no package root above ${String(moduleUrl)}`);
    dir = parent;
  }
}

async function readTemplates(dir: string): Promise<PromptTemplates> {
  const read = async (name: 'implement' | 'retry'): Promise<string> => {
    const path = join(dir, `${name}.md`);
    let raw: string;
    try {
      raw = await readFile(path, 'utf8');
    } catch (error) {
      throw new PromptTemplateError('prompt_template_unreadable', `cannot read prompt template ${path}`, { cause: error });
    }
    return checkTemplate(name, raw, path);
  };
  return { implement: await read('implement'), retry: await read('retry') };
}

// Every secret value a worker holds in its environment: the model keys of every preset and every
// tenant secret (DEVTEAM_SECRET_<TENANT>__…: repository tokens, agent.keyEnv keys). The one list
// the log redaction and the secret scan of outgoing changes both start from.
import { ALL_MODEL_KEY_VARS } from './agent-presets.js';
import { secretNamespaceValues } from './secret-ref.js';

export function workerSecretValues(env: Readonly<Record<string, string | undefined>>): string[] {
  const values = [...ALL_MODEL_KEY_VARS.map((name) => env[name]), ...secretNamespaceValues(env)];
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v !== ''))];
}

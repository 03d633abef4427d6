// Secret detection for what leaves the worker (the commits MERGE would integrate) and what it stores (artifacts).
export { KNOWN_SECRET_RULE, REDACTED, SecretInDiffError, SecretScanner, type SecretHit } from './secret-scanner.js';

// The domain's pure rules, shared by the edge (src/http) and the adapters (src/infra/repo): what a
// tenant may name — branches, repository URLs, paths in the repository, secret variables — and
// which strings the store can hold. No I/O here.
export { branchNameProblem, isValidBranchName, MAX_BRANCH_NAME_BYTES } from './git-ref-name.js';
export {
  fileRemotePathProblem,
  MAX_REPOSITORY_URL_LENGTH,
  NO_FILE_REMOTES,
  parseRepositoryUrl,
  repositoryUrlProblem,
  type FileRemotePolicy,
  type ParsedRepositoryUrl,
  type RepositoryUrl,
} from './repository-url.js';
export { MAX_REPO_PATH_LENGTH, repoPathProblem } from './repo-path.js';
export {
  findSecretPrefixClash,
  isTenantSecretName,
  readTenantSecret,
  SECRET_NAME_PATTERN,
  SECRET_NAMESPACE,
  SecretRefError,
  secretNamespaceValues,
  tenantSecretPrefix,
} from './secret-ref.js';
export { workerSecretValues } from './worker-secrets.js';
export { findUnstorableText, TEXT_PROBLEM_MESSAGES, textProblem, type TextProblem, type UnstorableText } from './storable-text.js';
export {
  checkTemplate,
  DEFAULT_FEEDBACK_BUDGET_BYTES,
  PROMPT_TEMPLATES_PATH,
  PromptTemplateError,
  renderPrompt,
  trimFeedback,
  type PromptDependency,
  type PromptInput,
  type PromptTemplates,
  type RelevantReason,
  type RepoContext,
  type SkipReason,
} from './prompt.js';
export { projectIdSchema } from './project-id.js';
export { AGENT_CLI_NAMES, AGENT_CLIS, AGENT_PRESETS, agentKeyVars, ALL_MODEL_KEY_VARS, MODEL_KEY_VARS, type AgentPresetName } from './agent-presets.js';
export {
  initializeBodySchema,
  initializePolicyIssues,
  laneLimits,
  MAX_PARALLELISM,
  MIN_LANE_MEMORY_MB,
  type FieldIssue,
  type InitializeBody,
  type InitializePolicy,
} from './project-config.js';
export {
  CriterionSchema,
  PhaseIdSchema,
  PhaseSchema,
  StepIdSchema,
  StepSchema,
  TaskIdSchema,
  TaskListSchema,
  TaskSchema,
  type Criterion,
  type Phase,
  type Step,
  type Task,
  type TaskList,
} from './task-model.js';
export { WEBHOOK_EVENTS, type WebhookEvent } from './webhook-events.js';
export { MAX_WEBHOOK_URL_LENGTH, webhookAddressProblem, webhookUrlProblem } from './webhook-url.js';
export { addUsage, agentUsageSchema, isUnknownUsage, MAX_REPORTED_COST_USD, MAX_REPORTED_TOKENS, totalTokens, UNKNOWN_USAGE, type AgentUsage } from './agent-usage.js';

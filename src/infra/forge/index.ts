// Pull requests through a forge's REST API (GitHub, GitLab, Gitea).
export { FORGE_TYPES, ForgeError, type Forge, type ForgeType, type PullRequest, type PullRequestRequest } from './forge.js';
export { createForge, defaultApiUrl, GitHubForge, GiteaForge, GitLabForge, type ForgeTarget } from './forges.js';

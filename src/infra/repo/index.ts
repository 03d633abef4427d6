// The repository cache: per-tenant clones kept current by clone/fetch, with per-call credentials
// that never touch disk, validated paths, and classified, secret-free errors.
export { RepoCache } from './repo-cache.js';
export type { EnsureRequest, EnsureResult, ProjectRef, RepoCacheOptions, TenantSize } from './repo-cache.js';
export { gitDirOf, lanePaths, projectPaths, isValidProjectId, isValidTenant, type LanePaths } from './project-paths.js';
export { runGit, type GitRun, type RunOptions } from './git-run.js';
export type { ProjectPaths } from './project-paths.js';
export { assertRemoteUrl, credentialEnv, DEFAULT_GIT_USERNAME, gitProcessEnv, redactUrl } from './git-credentials.js';
export type { GitCredentials } from './git-credentials.js';
export { classifyGitFailure, RepoError } from './git-errors.js';
export type { GitFailure, RepoErrorCode } from './git-errors.js';
export { changedBetween, changedFiles, checkoutAttempt, commitsAhead, currentBranch, createWorkBranch, deleteWorkBranches, removeStaleLocks, resetToBase, resolveRef, restoreTree, saveWorkTree, snapshotTree } from './work-tree.js';
export { commitWork, mergeIntoBase, MergeConflictError, pushBase, type CommitWorkOptions, type GitAuthor, type MergeOptions, type PushOptions } from './integrate.js';
export { EXECUTION_TRAILER, mergedTasks, TASK_TRAILER, tasksMergedBy, withTaskTrailers } from './task-trailers.js';
export { attemptRef, attemptRefPrefix, fetchAttempt, publishAttempt, removeAttemptRefs, type RemoteCall } from './attempt-refs.js';
export { diffOf, DiffError, type ChangedFile, type DiffResult } from './diff.js';
export { addedLines, parsePatchLog, type AddedLine } from './added-lines.js';
export { changedSince, DEFAULT_MAX_SCAN_ENTRIES } from './tree-activity.js';
export { ensureLaneWorkTree, forkPoint, integrateLane, pushLane, removeLaneWorkTrees, resetToForkPoint, setRef, startLaneBranch, type LaneMergeOptions, type LaneMergeResult, type LanePushOptions } from './lanes.js';

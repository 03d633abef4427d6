// The {projectId} path segment: percent-decoded and validated, with a 400 that says what is allowed.
import { ApiError } from './errors.js';
import { projectIdSchema } from './schemas.js';

export function projectIdFromPath(raw: string): string {
  let projectId: string;
  try {
    projectId = decodeURIComponent(raw);
  } catch {
    throw new ApiError('invalid_id', 'projectId is not valid percent-encoding');
  }
  if (!projectIdSchema.safeParse(projectId).success) {
    throw new ApiError('invalid_id', 'projectId must be letters, digits, ".", "_", "-" (not first), at most 128 characters');
  }
  return projectId;
}

// A project's id: also a path component of the repository cache, so no dot first, no slash, bounded.
import { z } from 'zod';

export const projectIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'letters, digits, "." "_" "-" (not first), at most 128 characters');

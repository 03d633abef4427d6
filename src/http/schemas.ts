// zod schemas of what clients send: the single definition of each field's rules and messages.
import { z } from 'zod';
import { projectIdSchema } from '../project/index.js';

export { projectIdSchema } from '../project/index.js';

export const correlationIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'letters, digits, "." "_" ":" "-", 1-128 characters');

export const eventBodySchema = z.strictObject({
  type: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'an upper-case workflow name such as DEVTEAM_AUTOMATION'),
  projectId: projectIdSchema,
  correlationId: correlationIdSchema.optional(),
  payload: z.record(z.string(), z.unknown(), 'a JSON object'),
});

export type EventBody = z.infer<typeof eventBodySchema>;

export const uuidSchema = z.uuid('a UUID');

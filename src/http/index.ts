export { startHttpServer, type HttpDeps, type HttpServer } from './server.js';
export { type ReadinessCheck } from './health-routes.js';
export { ApiError, type ErrorCode, type ErrorBody } from './errors.js';
export { eventBodySchema, projectIdSchema, type EventBody } from './schemas.js';
export { LOCAL_TENANT } from './auth.js';
export { StatusCache } from './status-cache.js';
export { invalidateStatusOnFrames, type StatusInvalidation } from './status-invalidation.js';
export { statusBody } from './automation-routes.js';

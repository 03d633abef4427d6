// Public surface of the process metrics.
export { Metrics } from './metrics.js';
export { startMetricsServer, type MetricsServer } from './metrics-server.js';

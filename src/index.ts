export { parseCli, ConfigError, type Config } from './config.js';
export type { NodeTarget, ServerTarget } from './targets.js';
export { startExporter, type RunningExporter } from './exporter.js';
export type * from './model/types.js';

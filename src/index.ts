export { parseCli, ConfigError, type Config, type ServerTarget } from './config.js';
export { startExporter, type RunningExporter } from './exporter.js';
export type * from './model/types.js';

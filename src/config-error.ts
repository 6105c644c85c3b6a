/** A mistake in the flags, environment or a file they name; the message names the input and the fix. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

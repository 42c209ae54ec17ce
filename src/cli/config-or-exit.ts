import { ConfigError, loadConfig, type Config } from '../config/config.ts';

/** Loads the configuration or prints one line per problem and exits 1 — never a stack trace. */
export function configOrExit(purpose: 'start' | 'cli'): Readonly<Config> {
  try {
    return loadConfig(process.env, { purpose });
  } catch (e) {
    if (e instanceof ConfigError) {
      for (const p of e.problems) process.stderr.write(`config: ${p}\n`);
      process.stderr.write(`config: ${e.problems.length} problem${e.problems.length > 1 ? 's' : ''}; the connector did not start.\n`);
      process.exit(1);
    }
    throw e;
  }
}

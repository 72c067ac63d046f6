// What every `jabberx` command receives and returns; src/main.ts parses the arguments and dispatches.
import type { ServerConfig } from '../core/config.ts';

/** The options src/main.ts declares to parseArgs; absent when not given. */
export interface CliOptions {
  readonly config?: string | undefined;
  readonly password?: string | undefined;
  readonly batch?: boolean | undefined;
  readonly for?: string | undefined;
  readonly expires?: string | undefined;
  readonly out?: string | undefined;
  readonly marker?: string[] | undefined;
  readonly 'new-key-file'?: string | undefined;
  readonly 'new-key-env'?: string | undefined;
  readonly 'new-key-command'?: string | undefined;
  readonly 'data-key'?: boolean | undefined;
  readonly 'allow-root'?: boolean | undefined;
  readonly output?: string | undefined;
  readonly host?: string[] | undefined;
  readonly overwrite?: boolean | undefined;
  readonly 'skip-existing'?: boolean | undefined;
}

export interface CommandContext {
  readonly values: CliOptions;
  /** The positional arguments after the command name. */
  readonly rest: readonly string[];
  /**
   * Loads the configuration (--config, else /etc/jabberx/jabberx.yml or ./jabberx.yml, else the
   * embedded defaults: src/cli/default-config.ts). A function so that a command
   * needing none (keygen without --out) never reads or validates a file.
   */
  readonly config: () => ServerConfig;
}

/**
 * A command resolves to its exit code. Failures are thrown (UsageError, ConfigError, KeyError,
 * AccountError, others) and src/main.ts turns them into a message and an exit code.
 */
export type Command = (ctx: CommandContext) => Promise<number>;

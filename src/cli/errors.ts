// Errors of the `jabberx` command line; src/main.ts maps them to exit codes.

/** The command was called wrongly (missing or malformed argument): exit 64, EX_USAGE. */
export class UsageError extends Error {}

// Errors of the `jabberx` command line; src/main.ts maps them to exit codes.

/** The command was called wrongly (missing or malformed argument): exit 64, EX_USAGE. */
export class UsageError extends Error {}

/** The command acts on the running server and none runs on this data directory: exit 69, EX_UNAVAILABLE. */
export class NoServerError extends Error {}

/** The running server refused or failed an operation; its message says why: exit 1. */
export class OperationError extends Error {}

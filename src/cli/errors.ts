// Errors of the `jabberx` command line; src/main.ts maps them to exit codes.

/** The command was called wrongly (missing or malformed argument): exit 64, EX_USAGE. */
export class UsageError extends Error {}

/** The command acts on the running server and none runs on this data directory: exit 69, EX_UNAVAILABLE. */
export class NoServerError extends Error {}

/** The running server refused or failed an operation; its message says why: exit 1. */
export class OperationError extends Error {}

/** An input file is malformed (e.g. not XEP-0227, not well-formed XML): nothing was done with it; exit 65, EX_DATAERR. */
export class DataError extends Error {}

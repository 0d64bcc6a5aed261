/**
 * The operator CLI's exit codes, one per kind of outcome, so scripts can tell a usage mistake from
 * a backend failure without reading the message.
 *
 * @module
 */

/** Done. */
export const EXIT_OK = 0;
/** A backend (Redis, S3) failed, or the command could not finish its work. */
export const EXIT_FAILURE = 1;
/** Unknown command or option, missing argument or configuration. */
export const EXIT_USAGE = 2;
/** Interrupted (Ctrl-C). */
export const EXIT_INTERRUPTED = 130;

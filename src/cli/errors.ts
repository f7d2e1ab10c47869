/**
 * The command line's own errors. Each prints as one line (`ringwire: message`) and
 * exits 1; the codes are stable for anyone wrapping the command.
 * @module
 */
import { RingwireError } from '../core/errors.js';

/** A mistake in the command line: printed as one line, exit 1. */
export class UsageError extends Error {
  readonly code = 'RINGWIRE_USAGE';
}

/** `ringwire call`/`stats`: the server did not answer within `--timeout`. */
export class NoAnswerError extends RingwireError {
  constructor(target: string, timeoutMs: number) {
    super('RINGWIRE_NO_ANSWER', `no answer from ${target} within ${timeoutMs} ms`);
  }
}

/** `ringwire call`/`stats`: the connection could not be opened. */
export class ConnectFailedError extends RingwireError {
  constructor(target: string, why: string) {
    super('RINGWIRE_CONNECT_FAILED', `cannot connect to ${target}: ${why}`);
  }
}

/** `ringwire serve --handlers`: the module could not be imported. `where` is its path, with `:line[:column]` when known. */
export class HandlersLoadError extends RingwireError {
  constructor(where: string, why: string) {
    super('RINGWIRE_HANDLERS_LOAD_FAILED', `cannot load handlers from ${where}: ${why}`);
  }
}

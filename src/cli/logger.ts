/**
 * The logger of `ringwire serve`: pino, as JSON lines or pretty lines for people.
 * Both write synchronously (pino.destination with sync, pino-pretty with sync, no
 * worker-thread transport), so nothing logged is lost when the process exits.
 * Info and below go to stdout, warn and above to stderr, in both formats.
 * @module
 */
import { type DestinationStream, type Logger, pino } from 'pino';
import pinoPretty from 'pino-pretty';

export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const LABELS: Readonly<Record<number, string>> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** Where the lines go: file descriptors (tests may give their own). */
export interface LogDestinations {
  readonly out: number;
  readonly err: number;
}

/**
 * A pino logger for the command line. Pretty lines read as the command always
 * printed them: `ringwire: listening on tcp:127.0.0.1:7070 (native)`, and for
 * other levels than info `ringwire: warn: ...`; the fields are in the JSON only.
 */
export function cliLogger(format: LogFormat, level: LogLevel, to: LogDestinations = { out: 1, err: 2 }): Logger {
  const stream = (fd: number): DestinationStream =>
    format === 'json'
      ? pino.destination({ dest: fd, sync: true })
      : pinoPretty({
          destination: fd,
          sync: true,
          colorize: false,
          hideObject: true,
          ignore: 'pid,hostname,time,level,name,process',
          // A server process of several (--processes) says which it is.
          messageFormat: (log, key) =>
            `ringwire: ${log.process === undefined ? '' : `process ${String(log.process)}: `}${log.level === 30 ? '' : `${LABELS[Number(log.level)] ?? 'log'}: `}${String(log[key])}`,
        });
  // dedupe: each line goes to the one stream with the highest level at or below its own.
  const streams = pino.multistream(
    [
      { level: 'trace', stream: stream(to.out) },
      { level: 'warn', stream: stream(to.err) },
    ],
    { dedupe: true },
  );
  return pino({ name: 'ringwire', level }, streams);
}

/**
 * Readers of flag values. Each refuses a bad value with one sentence that says
 * what the flag expects and what it got.
 * @module
 */
import { UsageError } from './errors.js';

/** Longest timer Node keeps: a longer delay fires after 1 ms instead (TimeoutOverflowWarning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A whole number in [min, max], written in plain digits; `unit` names what it counts. */
export function wholeNumber(flag: string, text: string, min: number, unit?: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= min && n <= max)) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`${flag} expects a whole number${unit ? ` of ${unit}` : ''} ${range} (got ${text})`);
  }
  return n;
}

/** Milliseconds for a timer: 1 ms up to the longest delay a timer keeps. */
export function milliseconds(flag: string, text: string): number {
  return wholeNumber(flag, text, 1, 'milliseconds', MAX_TIMER_MS);
}

/** A TCP listen address: `HOST:PORT`, `[IPV6]:PORT` or a bare `PORT` (on 127.0.0.1). */
export function tcpAddress(text: string, flag = '--tcp'): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || !Number.isInteger(port) || port > 65535) {
    throw new UsageError(`${flag} expects HOST:PORT, e.g. 127.0.0.1:7070 or [::1]:7070 (got ${text})`);
  }
  return { host: match[1] || match[2] || '127.0.0.1', port };
}

/** A uid for `--allow-uid`: 0 to 2^32 - 2 ((uid_t) -1 means "no uid" to the kernel). */
export function uid(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n <= 0xfffffffe)) throw new UsageError(`--allow-uid expects a numeric uid such as 1000 (got ${text})`);
  return n;
}

export function fileMode(text: string): number {
  const digits = text.replace(/^0o?/, '');
  if (!/^[0-7]{1,3}$/.test(digits)) throw new UsageError(`--socket-mode expects an octal file mode such as 600 or 0660 (got ${text})`);
  return parseInt(digits, 8);
}

/** Seconds for `--stats-every`: a positive number, fractions allowed, short enough for a timer. */
export function seconds(text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(n > 0) || n * 1000 > MAX_TIMER_MS) {
    throw new UsageError(`--stats-every expects a number of seconds greater than 0 (got ${text})`);
  }
  return n;
}

/** One of `choices`, for flags such as `--transport`. */
export function oneOf<T extends string>(flag: string, text: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(text)) return text as T;
  const list = choices.length === 2 ? choices.join(' or ') : `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}`;
  throw new UsageError(`${flag} must be ${list} (got ${text})`);
}

/** `ms` as people say it: `10 s`, or `250 ms`. */
export function duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/**
 * A log that lets through at most `perWindow` lines per window and counts the
 * rest: a hot handler failing thousands of times a second must not turn stderr
 * into the bottleneck, nor bury the other lines, yet every failure is accounted for.
 * @module
 */

/** `T`: what is logged, a line (without its newline) by default, or a structured entry for a logger. */
export interface RateLimitedLogOptions<T = string> {
  /** Where lines go. */
  readonly write: (line: T) => void;
  /** The line written at a window's end for the lines held back in it. */
  readonly summary: (suppressed: number) => T;
  /** Lines let through per window. Default 10. */
  readonly perWindow?: number;
  /** Default 1000. */
  readonly windowMs?: number;
}

/**
 * Windows are fixed, each starting at the first line after the last one ended, so
 * a quiet log runs no timer at all.
 *
 * @example
 * ```ts
 * const log = new RateLimitedLog({ write: (l) => process.stderr.write(l + '\n'), summary: (n) => `${n} more (suppressed)` });
 * log.log('handler fail failed: boom');
 * ```
 */
export class RateLimitedLog<T = string> {
  private readonly perWindow: number;
  private readonly windowMs: number;
  private shown = 0;
  private suppressed = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RateLimitedLogOptions<T>) {
    this.perWindow = options.perWindow ?? 10;
    this.windowMs = options.windowMs ?? 1000;
  }

  log(line: T): void {
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.endWindow(), this.windowMs);
      // A pending summary must not keep a stopping process alive; flush() writes it.
      this.timer.unref();
    }
    if (this.shown < this.perWindow) {
      this.shown++;
      this.options.write(line);
    } else this.suppressed++;
  }

  /** Ends the window now, writing the count of lines held back (before exiting). */
  flush(): void {
    clearTimeout(this.timer);
    this.endWindow();
  }

  private endWindow(): void {
    this.timer = undefined;
    this.shown = 0;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    if (suppressed > 0) this.options.write(this.options.summary(suppressed));
  }
}

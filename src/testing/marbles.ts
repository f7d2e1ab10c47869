import { deepStrictEqual } from 'node:assert/strict';
import { type RunHelpers, TestScheduler } from 'rxjs/testing';

/** Compares what a pipeline emitted with what the marble diagram expects; throws on a difference. */
export type AssertDeepEqual = (actual: unknown, expected: unknown) => void;

/** Options of {@link runMarbles} and {@link testScheduler}. */
export interface MarbleOptions {
  /**
   * The deep-equality assertion. Default: `node:assert`'s `deepStrictEqual`, which
   * works under any test runner; pass e.g. `(a, e) => expect(a).toEqual(e)` for your
   * runner's diffs.
   */
  readonly assertDeepEqual?: AssertDeepEqual;
}

/** What a {@link runMarbles} callback gets: RxJS's run helpers, and the scheduler itself. */
export interface MarbleHelpers extends RunHelpers {
  /** The TestScheduler driving virtual time; pass it as an operator's `scheduler` option if you like. */
  readonly scheduler: TestScheduler;
}

/**
 * A TestScheduler that asserts with `assertDeepEqual` (default `deepStrictEqual`).
 *
 * @example
 * ```ts
 * const scheduler = testScheduler();
 * scheduler.run(({ cold, expectObservable }) => { … });
 * ```
 */
export function testScheduler(options: MarbleOptions = {}): TestScheduler {
  const assert = options.assertDeepEqual ?? defaultAssert;
  return new TestScheduler((actual, expected) => assert(actual, expected));
}

/**
 * Runs `callback` under a fresh TestScheduler in run mode: `cold`, `hot`,
 * `expectObservable`, `expectSubscriptions`, `time` and `flush` as in RxJS, with
 * virtual time (the default `asyncScheduler` of every ringwire operator follows it,
 * so timeouts take no real time). Assertions run when the callback returns.
 *
 * @example
 * ```ts
 * runMarbles(({ cold, expectObservable }) => {
 *   const conn = testConnection();
 *   const source = cold('a-b|', lettered(slicesOf(conn, '{"id"', ':1}\n')));
 *   expectObservable(source.pipe(detectProtocol(), jsonFrames(), readable())).toBe('--f|', {
 *     f: { type: 'frame', connection: conn.id, protocol: 'jsonrpc', text: '{"id":1}' },
 *   });
 * });
 * ```
 * @param callback Builds sources, pipes them through the pipeline under test, states expectations.
 * @param options The deep-equality assertion.
 * @return What `callback` returned.
 */
export function runMarbles<T>(callback: (helpers: MarbleHelpers) => T, options?: MarbleOptions): T {
  const scheduler = testScheduler(options);
  return scheduler.run((helpers) => callback({ ...helpers, scheduler }));
}

function defaultAssert(actual: unknown, expected: unknown): void {
  deepStrictEqual(actual, expected);
}

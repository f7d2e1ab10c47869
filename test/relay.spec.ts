import { describe, expect, it } from 'vitest';
import { Relay } from '../src/core/relay.js';

describe('Relay (the hot-path Subject)', () => {
  it('passes each value to every subscriber, in subscription order', () => {
    const relay = new Relay<number>();
    const seen: string[] = [];
    relay.observable.subscribe((v) => seen.push(`a${v}`));
    relay.observable.subscribe((v) => seen.push(`b${v}`));
    relay.next(1);
    relay.next(2);
    expect(seen).toEqual(['a1', 'b1', 'a2', 'b2']);
  });

  it('runs an emission over the subscribers it had when it began, as a Subject does', () => {
    const relay = new Relay<number>();
    const seen: string[] = [];
    let late: (() => void) | undefined;
    const a = relay.observable.subscribe((v) => {
      seen.push(`a${v}`);
      // Subscribing during an emission: the newcomer gets only later values.
      late ??= (
        (s) => () =>
          s.unsubscribe()
      )(relay.observable.subscribe((w) => seen.push(`c${w}`)));
      b.unsubscribe(); // unsubscribed during the emission: gets nothing more
    });
    const b = relay.observable.subscribe((v) => seen.push(`b${v}`));
    relay.next(1);
    relay.next(2);
    a.unsubscribe();
    late?.();
    relay.next(3);
    expect(seen).toEqual(['a1', 'a2', 'c2']);
    expect(relay.observed).toBe(false);
  });

  it('tells when it is first observed and when the last subscriber leaves', () => {
    const calls: boolean[] = [];
    const relay = new Relay<number>((observed) => calls.push(observed));
    const a = relay.observable.subscribe();
    const b = relay.observable.subscribe();
    a.unsubscribe();
    expect(calls).toEqual([true]);
    b.unsubscribe();
    b.unsubscribe();
    relay.observable.subscribe().unsubscribe();
    expect(calls).toEqual([true, false, true, false]);
  });

  it('tells it is no longer observed when it ends with subscribers, once', () => {
    for (const end of ['complete', 'error'] as const) {
      const calls: boolean[] = [];
      const relay = new Relay<number>((observed) => calls.push(observed));
      relay.observable.subscribe({ error: () => undefined });
      relay.observable.subscribe({ error: () => undefined });
      if (end === 'complete') relay.complete();
      else relay.error(new Error('x'));
      relay.observable.subscribe({ error: () => undefined });
      expect(calls).toEqual([true, false]);
    }
  });

  it('completes its subscribers, and any that come later', () => {
    const relay = new Relay<number>();
    const events: string[] = [];
    relay.observable.subscribe({ next: (v) => events.push(`n${v}`), complete: () => events.push('done') });
    relay.next(1);
    relay.complete();
    relay.next(2);
    relay.complete();
    relay.observable.subscribe({ complete: () => events.push('late done') });
    expect(events).toEqual(['n1', 'done', 'late done']);
    expect(relay.observed).toBe(false);
  });

  it('errors its subscribers, and any that come later, with the same error', () => {
    const relay = new Relay<number>();
    const boom = new Error('boom');
    const errors: unknown[] = [];
    relay.observable.subscribe({ error: (e: unknown) => errors.push(e) });
    relay.error(boom);
    relay.complete();
    relay.observable.subscribe({ error: (e: unknown) => errors.push(e) });
    expect(errors).toEqual([boom, boom]);
  });
});

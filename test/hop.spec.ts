import { Observable, Subject, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { hop } from '../operators/internal/hop.js';

const double = (source: Observable<number>) =>
  new Observable<number>((subscriber) => hop(source, subscriber, (n) => subscriber.next(n * 2)));

describe('hop: the subscriber an operator gives its source', () => {
  it('passes values through onNext, and completion and errors on, with exact subscriptions', () => {
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, expectObservable, expectSubscriptions }) => {
      const ok = cold('-a-b-|', { a: 1, b: 2 });
      const bad = cold('-a-#', { a: 1 }, new Error('boom'));
      expectObservable(ok.pipe(double)).toBe('-a-b-|', { a: 2, b: 4 });
      expectObservable(bad.pipe(double)).toBe('-a-#', { a: 2 }, new Error('boom'));
      expectSubscriptions(ok.subscriptions).toBe('^----!');
      expectSubscriptions(bad.subscriptions).toBe('^--!');
    });
  });

  it('unsubscribes the source when the consumer unsubscribes early', () => {
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-c-d-|', { a: 1, b: 2, c: 3, d: 4 });
      expectObservable(source.pipe(double), '^---!').toBe('-a-b-', { a: 2, b: 4 });
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('turns a throw inside onNext into the pipeline error, never into the producer', () => {
    const input = new Subject<number>();
    const errors: unknown[] = [];
    input
      .pipe(
        (source) =>
          new Observable<number>((subscriber) =>
            hop(source, subscriber, () => {
              throw new Error('handler bug');
            }),
          ),
      )
      .subscribe({ error: (e: unknown) => errors.push(e) });
    expect(() => input.next(1)).not.toThrow();
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('handler bug');
    expect(input.observed).toBe(false);
  });

  it('never throws to the producer when onNext tears the chain down and then throws', () => {
    const input = new Subject<number>();
    const seen: number[] = [];
    input
      .pipe(
        (source) =>
          new Observable<number>((subscriber) =>
            hop(source, subscriber, (n) => {
              subscriber.next(n);
              throw new Error('after emitting');
            }),
          ),
        take(1),
      )
      .subscribe((n) => seen.push(n));
    expect(() => input.next(1)).not.toThrow();
    expect(seen).toEqual([1]);
    expect(input.observed).toBe(false);
  });

  it('turns a throw inside onError into the pipeline error', () => {
    const failed = new Subject<number>();
    const errors: unknown[] = [];
    new Observable<number>((subscriber) =>
      hop(
        failed,
        subscriber,
        () => {},
        undefined,
        () => {
          throw new Error('onError bug');
        },
      ),
    ).subscribe({ error: (e: unknown) => errors.push(e) });
    expect(() => failed.error('x')).not.toThrow();
    expect((errors[0] as Error).message).toBe('onError bug');
  });

  it('sends completion and errors to onComplete / onError when given', () => {
    const seen: string[] = [];
    const done = new Subject<number>();
    new Observable<number>((subscriber) =>
      hop(
        done,
        subscriber,
        () => {},
        () => seen.push('complete'),
      ),
    ).subscribe({
      complete: () => seen.push('downstream complete'),
    });
    done.complete();
    const failed = new Subject<number>();
    new Observable<number>((subscriber) =>
      hop(
        failed,
        subscriber,
        () => {},
        undefined,
        (e) => seen.push(`error ${String(e)}`),
      ),
    ).subscribe({
      error: () => seen.push('downstream error'),
    });
    failed.error('x');
    expect(seen).toEqual(['complete', 'error x']);
  });
});

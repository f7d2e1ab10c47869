/**
 * The Relay: a Subject for the hot path (the transport's slices$, backpressure()'s inner feed).
 * @module
 */
import { Observable, type Subscriber } from 'rxjs';

/**
 * A Subject for the hot path: passes each value to whoever subscribed, in
 * subscription order. RxJS's CommonJS build (the one Node loads) runs every
 * `Subject.next` through an error-context closure and an iterator object over
 * its observers; once per record, that cost more than the operator around it.
 * Here the subscribers are a plain array, replaced (never changed in place) on
 * subscribe and unsubscribe, so an emission runs over a fixed list, as a
 * Subject's does. After `complete` or `error`, late subscribers get the same end.
 */
export class Relay<T> {
  private sinks: ReadonlyArray<Subscriber<T>> = [];
  private ended: { readonly error: unknown; readonly failed: boolean } | undefined = undefined;

  /**
   * @param onObserved Called with true when the first subscriber comes and with
   *   false when the last one leaves (the transport reads only while observed).
   */
  constructor(private readonly onObserved?: (observed: boolean) => void) {}

  /** Subscribing here is subscribing to the relay. */
  readonly observable: Observable<T> = new Observable<T>((subscriber) => {
    const ended = this.ended;
    if (ended !== undefined) {
      if (ended.failed) subscriber.error(ended.error);
      else subscriber.complete();
      return undefined;
    }
    this.sinks = [...this.sinks, subscriber];
    if (this.sinks.length === 1) this.onObserved?.(true);
    return () => {
      const before = this.sinks.length;
      this.sinks = this.sinks.filter((s) => s !== subscriber);
      if (before > 0 && this.sinks.length === 0 && this.ended === undefined) this.onObserved?.(false);
    };
  });

  /** Whether anyone is subscribed. */
  get observed(): boolean {
    return this.sinks.length > 0;
  }

  next(value: T): void {
    const sinks = this.sinks;
    for (let i = 0; i < sinks.length; i++) sinks[i]!.next(value);
  }

  complete(): void {
    this.end({ error: undefined, failed: false });
  }

  error(error: unknown): void {
    this.end({ error, failed: true });
  }

  private end(how: { readonly error: unknown; readonly failed: boolean }): void {
    if (this.ended !== undefined) return;
    this.ended = how;
    const sinks = this.sinks;
    this.sinks = [];
    for (const s of sinks) {
      if (how.failed) s.error(how.error);
      else s.complete();
    }
    // Ended while observed: the last subscriber is gone (their teardowns find the list already empty).
    if (sinks.length > 0) this.onObserved?.(false);
  }
}

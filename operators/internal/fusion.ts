/**
 * Operator fusion: ringwire's adjacent operators run as ONE subscription.
 *
 * Every ringwire operator is a {@link StageSpec}: what it does to one record, for
 * one subscription. Applied to a plain Observable it subscribes it as any RxJS
 * operator would; applied to the output of another ringwire operator it does not
 * subscribe anything, but joins that operator's chain (`Fused`), as Reactor fuses
 * `map().filter()` at assembly time. A fused chain subscribes its source once and
 * passes each record from stage to stage by direct calls: no Subscriber per stage,
 * no try/catch, no closure call through RxJS's machinery (docs/ARCHITECTURE.md
 * has the figures). A user's operator in between simply ends one chain and the
 * next ringwire operator starts another, so a per-record stage plugs in anywhere
 * without knowing, and every operator keeps its marble spec.
 *
 * Two neighbours may also fuse into one stage that does both jobs at once
 * (`StageSpec.fuse`): jsonFrames() followed by decodeJsonRpc() frames NDJSON by
 * native newline search and decodes only the envelope, which neither can do
 * alone. The result must equal the two stages run apart (property-tested).
 * @module
 */
import { Observable, type OperatorFunction, Subscriber, type Subscription } from 'rxjs';
import type { PipelineRecord } from '../../src/core/records.js';

/** Where a stage sends its records: the next stage, or the subscriber at the end. */
export interface Sink {
  next(record: PipelineRecord): void;
  error(error: unknown): void;
  complete(): void;
}

/** One operator's work for one subscription. */
export interface Stage extends Sink {
  /** The subscription ends: stop timers, drop state. */
  dispose(): void;
}

/**
 * What the stages of one subscription share: the subscriber at the end of the
 * chain, seen only as these two (a field read, not a getter: framing asks after
 * every frame).
 */
export interface Chain {
  /** True once nobody listens at the end (unsubscribed, completed or errored). */
  readonly closed: boolean;
  /**
   * Errors the chain's output. Stages that emit outside a call to their `next`
   * (timers, a handler's promise) pass their emissions' throws here: within `next`,
   * a throw already reaches it through the chain's head.
   */
  error(error: unknown): void;
}

/** An operator as a stage: how to make it for one subscription, and what it may fuse with. */
export interface StageSpec {
  /** Makes the stage for one subscription; `out` is where it emits. */
  create(out: Sink, chain: Chain): Stage;
  /** The one stage doing this spec's job and `next`'s, or undefined when they do not fuse. */
  fuse?(next: StageSpec): StageSpec | undefined;
}

/**
 * A stage from its `next` and optional handlers. Completion and errors pass on
 * to `out` unless handled; every stage has this one shape.
 */
export function stage(
  out: Sink,
  next: (record: PipelineRecord) => void,
  handlers: { complete?: () => void; error?: (error: unknown) => void; dispose?: () => void } = {},
): Stage {
  return {
    next,
    complete: handlers.complete ?? (() => out.complete()),
    error: handlers.error ?? ((error: unknown) => out.error(error)),
    dispose: handlers.dispose ?? noop,
  };
}

const noop = (): void => {};

/**
 * The RxJS operator of a stage: joins the chain of a ringwire operator's output,
 * or starts a chain over any other Observable.
 *
 * @example
 * ```ts
 * const countData = fusable({
 *   create: (out) => {
 *     let n = 0;
 *     return stage(out, (r) => {
 *       if (r.type === 'data') n++;
 *       out.next(r);
 *     });
 *   },
 * });
 * ```
 */
export function fusable(spec: StageSpec): OperatorFunction<PipelineRecord, PipelineRecord> {
  return (source) => (source instanceof Fused ? source.append(spec) : new Fused(source, [spec]));
}

/**
 * The specs `operator` is made of when it is made of ringwire stages only (as
 * `pipe(route(handlers), handle())` is); undefined for any other operator.
 */
export function specsOf(operator: OperatorFunction<PipelineRecord, PipelineRecord>): readonly StageSpec[] | undefined {
  const probe = operator(new Fused(UNSUBSCRIBED, []));
  return probe instanceof Fused && probe.upstream === UNSUBSCRIBED ? probe.specs : undefined;
}

/** A chain of specs as one spec: their stages in order, the first one receiving. */
export function chainSpec(specs: readonly StageSpec[]): StageSpec {
  return {
    create: (out, chain) => {
      const { head, stages } = createAll(specs, out, chain);
      return {
        next: (record) => head.next(record),
        complete: () => head.complete(),
        error: (error) => head.error(error),
        dispose: () => disposeAll(stages),
      };
    },
  };
}

/** Only for finding specs: never subscribed. */
const UNSUBSCRIBED = new Observable<PipelineRecord>(() => {
  throw new Error('ringwire: a probe of operator fusion was subscribed');
});

/** Ringwire operators fused over `upstream`, subscribed as one (never a thenable: no `then`). */
class Fused extends Observable<PipelineRecord> {
  constructor(
    readonly upstream: Observable<PipelineRecord>,
    readonly specs: readonly StageSpec[],
  ) {
    super((subscriber) => subscribeChain(upstream, specs, subscriber));
  }

  append(spec: StageSpec): Fused {
    const last = this.specs.at(-1);
    const fused = last?.fuse?.(spec);
    if (fused !== undefined) return new Fused(this.upstream, [...this.specs.slice(0, -1), fused]);
    return new Fused(this.upstream, [...this.specs, spec]);
  }
}

function subscribeChain(
  source: Observable<PipelineRecord>,
  specs: readonly StageSpec[],
  subscriber: Subscriber<PipelineRecord>,
): () => void {
  const { head, stages } = createAll(specs, subscriber, subscriber);
  const subscription: Subscription = source.subscribe(new HeadSubscriber(subscriber, head));
  return () => {
    subscription.unsubscribe();
    disposeAll(stages);
  };
}

/** Makes the stages from last to first, each emitting into the one after it. */
function createAll(specs: readonly StageSpec[], out: Sink, chain: Chain): { head: Sink; stages: Stage[] } {
  const stages: Stage[] = [];
  let head = out;
  for (let i = specs.length - 1; i >= 0; i--) {
    const made = specs[i]!.create(head, chain);
    stages.push(made);
    head = made;
  }
  return { head, stages };
}

function disposeAll(stages: readonly Stage[]): void {
  for (const made of stages) made.dispose();
}

/**
 * What a chain gives its source, as RxJS's own operators do (its OperatorSubscriber),
 * not an observer object, which RxJS would wrap in two more objects and calls. A
 * throw from any stage errors the output, never the producer.
 */
class HeadSubscriber extends Subscriber<PipelineRecord> {
  /** Kept apart from `destination`, which RxJS clears on unsubscribe: a stage may tear down and then throw. */
  private readonly out: Subscriber<PipelineRecord>;

  constructor(
    destination: Subscriber<PipelineRecord>,
    private readonly head: Sink,
  ) {
    super(destination);
    this.out = destination;
  }

  protected override _next(record: PipelineRecord): void {
    try {
      this.head.next(record);
    } catch (error) {
      this.out.error(error);
    }
  }

  protected override _complete(): void {
    try {
      this.head.complete();
    } catch (error) {
      this.out.error(error);
    } finally {
      this.unsubscribe();
    }
  }

  protected override _error(error: unknown): void {
    try {
      this.head.error(error);
    } catch (thrown) {
      this.out.error(thrown);
    } finally {
      this.unsubscribe();
    }
  }
}

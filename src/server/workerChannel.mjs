// The worker side of one handler call's MessagePort (src/server/workerCall.ts is the
// main thread's): the handler's ctx.signal, ctx.notify, ctx.request and ctx.session.
// docs/WORKERS.md says what crosses and when.
//
// Plain ESM JavaScript, like worker.mjs: it cannot import ringwire's TypeScript, so
// the errors ctx.request rejects with are look-alikes (name, code, message, data)
// of ringwire's classes, not instances of them.

/** The client's error answer, as ringwire's RpcError carries it: a numeric code, its message and data. */
export class RpcError extends Error {
  constructor(code, message, data) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    if (data !== undefined) this.data = data;
  }
  toJSON() {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

/** An error with ringwire's stable string `code`, as the main thread's error classes have. */
function ringwireError(name, code, message) {
  const error = new Error(message);
  error.name = name;
  error.code = code;
  return error;
}

/** What notify and request throw once the handler has answered: nothing would be acted on. */
function callEnded() {
  return ringwireError('CallEndedError', 'RINGWIRE_CALL_ENDED', 'the call has ended: nothing more is sent for it');
}

/** An error from the main thread ({code, message, data} or {name, code, message}), as an Error here. */
function errorFrom(shape) {
  if (typeof shape.code === 'number') return new RpcError(shape.code, shape.message, shape.data);
  const error = new Error(shape.message);
  if (shape.name !== undefined) error.name = shape.name;
  if (shape.code !== undefined) error.code = shape.code;
  return error;
}

export class CallChannel {
  #port;
  #controller = new AbortController();
  /** Messages posted: the task result carries the count, so that the main thread handles them all before the answer. */
  #posted = 0;
  /** Set once the call is over here: what notify throws and pending requests reject with. */
  #ended;
  #nextId = 0;
  #pending = new Map();
  #snapshot;
  /** The handler's session object and its values at the start, made when it first reads ctx.session. */
  #session;
  #original;
  #flushed = false;

  constructor(port, snapshot) {
    this.#port = port;
    this.#snapshot = snapshot;
    // Messages posted before this task started are queued on the port and arrive now.
    port.on('message', (message) => this.#receive(message));
  }

  /** @returns {AbortSignal} */
  get signal() {
    return this.#controller.signal;
  }

  /** The handler's ctx. */
  context({ peer, listener, method, notification }) {
    const channel = this;
    return {
      signal: this.signal,
      peer,
      listener,
      method,
      notification,
      notify: (name, params) => channel.notify(name, params),
      request: (name, params, options) => channel.request(name, params, options),
      get session() {
        return channel.session();
      },
    };
  }

  /** Posts on the port; throws (a DataCloneError, nothing sent) for a value that cannot be cloned. */
  post(message) {
    this.#port.postMessage(message);
    this.#posted++;
  }

  // Posted, not sent: the main thread's verdict (the client not reading, the
  // connection closed) comes back later and ends the call (docs/WORKERS.md).
  notify(method, params) {
    if (this.#ended !== undefined) throw this.#ended;
    this.post({ t: 'notify', m: method, p: params });
  }

  request(method, params, options) {
    return new Promise((resolve, reject) => {
      if (this.#ended !== undefined) return reject(this.#ended);
      const signal = options?.signal;
      if (signal?.aborted) return reject(signal.reason);
      const id = ++this.#nextId;
      const timeoutMs = options?.timeoutMs;
      this.post(
        timeoutMs === undefined
          ? { t: 'request', i: id, m: method, p: params }
          : { t: 'request', i: id, m: method, p: params, ms: timeoutMs },
      );
      // An AbortSignal cannot cross threads: its abort is posted as a cancel of this request.
      const onAbort = () => {
        if (!this.#pending.delete(id)) return;
        this.post({ t: 'cancel', i: id });
        reject(signal.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, { resolve, reject, release: () => signal?.removeEventListener('abort', onAbort) });
    });
  }

  /**
   * The connection's session as it was when the call started. Its values are frozen:
   * a change inside one would be missed by flush(), which compares top-level values.
   */
  session() {
    if (this.#session === undefined) {
      this.#session = this.#snapshot ?? {};
      this.#original = new Map(Object.entries(this.#session));
      for (const value of this.#original.values()) deepFreeze(value);
    }
    return this.#session;
  }

  /**
   * Posts the session's changes, once, as the call ends: each top-level key assigned
   * a value other than the one it started with, and each key deleted. Throws for a
   * value that cannot be cloned, after posting the others.
   */
  flush() {
    const session = this.#session;
    if (session === undefined || this.#flushed) return;
    this.#flushed = true;
    const original = this.#original;
    let failure;
    for (const [key, value] of Object.entries(session)) {
      if (original.has(key) && Object.is(original.get(key), value)) continue;
      try {
        this.post({ t: 'set', k: key, v: value });
      } catch (error) {
        failure ??= new TypeError(`ctx.session.${key} cannot be copied to the main thread: ${error?.message ?? error}`);
      }
    }
    for (const key of original.keys()) if (!Object.hasOwn(session, key)) this.post({ t: 'delete', k: key });
    if (failure !== undefined) throw failure;
  }

  /** The call is over here: pending requests reject, nothing more is posted. Returns the count of messages posted. */
  end(reason = callEnded()) {
    if (this.#ended === undefined) {
      this.#ended = reason;
      const pending = [...this.#pending.values()];
      this.#pending.clear();
      for (const waiting of pending) {
        waiting.release();
        waiting.reject(reason);
      }
    }
    return this.#posted;
  }

  #receive(message) {
    switch (message.t) {
      case 'abort':
        // The reason the main thread's ctx.signal aborted with (the cancel's RpcError -32800, a disconnect's AbortError).
        return this.#stop(message.e === undefined ? new Error('Request cancelled') : errorFrom(message.e));
      case 'refused':
        return this.#stop(errorFrom(message.e));
      case 'answer':
      case 'reject': {
        const waiting = this.#pending.get(message.i);
        if (waiting === undefined) return; // cancelled here, or the call ended
        this.#pending.delete(message.i);
        waiting.release();
        if (message.t === 'answer') waiting.resolve(message.v);
        else waiting.reject(errorFrom(message.e));
      }
    }
  }

  /** The main thread stopped the call: its signal aborts with `reason`, which later notifies throw. */
  #stop(reason) {
    this.end(reason);
    this.#controller.abort(reason);
  }
}

function deepFreeze(value) {
  // Typed arrays cannot be frozen; isFrozen also ends the walk of a cyclic value.
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const inner of Object.values(value)) deepFreeze(inner);
  return value;
}

// The worker-thread side of ringwire's handler pool (src/server/pool.ts).
//
// Plain ESM JavaScript, not TypeScript: Node 20 cannot load .ts in a worker, and
// this file must run unchanged under vitest (TS sources) and from dist/.
//
// Piscina calls the default export once per task. A task either asks for the
// module's method names ({ op: 'methods' }) or calls one handler. Each call gets
// its own MessagePort: the main thread posts an abort on it to fire the handler's
// ctx.signal, and the worker posts stream items on it, then 'end' or 'error'. The
// handler's notifications, requests and session writes go over it too
// (workerChannel.mjs).
import { workerData } from 'node:worker_threads';
import { CallChannel } from './workerChannel.mjs';

const METHOD_NOT_FOUND = { code: -32601, message: 'Method not found' };

const handlersReady = import(workerData.module).then(handlersOf);
// A module that fails to load fails each task that awaits it; unawaited, the
// rejection would crash this worker, and Piscina would start another, forever.
handlersReady.catch(() => {});

export default async function runTask(task) {
  const handlers = await handlersReady;
  if (task.op === 'methods') return Object.keys(handlers);
  return call(handlers, task);
}

async function call(handlers, { method, params, peer, listener, notification, session, port }) {
  const channel = new CallChannel(port, session);
  const handler = handlers[method];
  if (handler === undefined) return { error: METHOD_NOT_FOUND, posted: channel.end() };
  const ctx = channel.context({ peer, listener, method, notification });
  try {
    let result = handler(params, ctx);
    if (isThenable(result)) result = await result;
    if (isSubscribable(result)) {
      // Tells the main thread to answer with a stream before the first item arrives.
      channel.post({ t: 'stream' });
      await streamTo(channel, result);
      channel.end();
      return { stream: true };
    }
    channel.flush();
    // `posted` makes the main thread handle every message posted before it acts on this answer.
    return { value: result, posted: channel.end() };
  } catch (error) {
    try {
      channel.flush();
    } catch {
      // The handler's own error is the answer; the session keys that could be copied were.
    }
    return { ...answerOf(error), posted: channel.end() };
  }
}

function streamTo(channel, observable) {
  const signal = channel.signal;
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    let finished = false;
    let subscription;
    const finish = (message) => {
      if (finished) return;
      finished = true;
      signal.removeEventListener('abort', onAbort);
      if (message) channel.post(flushed(channel, message));
      resolve();
    };
    const onAbort = () => {
      subscription?.unsubscribe();
      finish(undefined);
    };
    signal.addEventListener('abort', onAbort);
    subscription = observable.subscribe({
      next: (value) => channel.post({ t: 'item', v: value }),
      error: (error) => {
        const answer = answerOf(error);
        finish('failure' in answer ? { t: 'failure', f: answer.failure } : { t: 'error', e: answer.error });
      },
      complete: () => finish({ t: 'end' }),
    });
  });
}

// The session's changes go before the stream's last message, which ends the call on
// the main thread; a change that cannot be copied fails the stream.
function flushed(channel, message) {
  try {
    channel.flush();
    return message;
  } catch (error) {
    return message.t === 'end' ? { t: 'failure', f: answerOf(error).failure } : message;
  }
}

// An RpcError, from whichever copy of ringwire the module imported (an Error whose
// code is an integer; Node's own errors have string codes), is the answer. Anything
// else is a failure: the main thread answers -32603 alone and reports this message.
function answerOf(error) {
  if (error instanceof Error && Number.isInteger(error.code) && typeof error.message === 'string') {
    return {
      error:
        error.data === undefined
          ? { code: error.code, message: error.message }
          : { code: error.code, message: error.message, data: error.data },
    };
  }
  if (error instanceof Error) return { failure: { message: error.message, stack: error.stack } };
  return { failure: { message: String(error) } };
}

function isThenable(value) {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function';
}

function isSubscribable(value) {
  return value !== null && typeof value === 'object' && typeof value.subscribe === 'function';
}

function handlersOf(module) {
  const out = {};
  const fallback = module.default;
  if (fallback !== null && typeof fallback === 'object') {
    for (const [name, fn] of Object.entries(fallback)) if (typeof fn === 'function') out[name] = fn;
  }
  for (const [name, fn] of Object.entries(module)) if (name !== 'default' && typeof fn === 'function') out[name] = fn;
  return out;
}

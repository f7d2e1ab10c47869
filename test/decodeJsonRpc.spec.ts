import { from, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { type DecodeJsonRpcOptions, decodeJsonRpc } from '../operators/decodeJsonRpc.js';
import type { FrameRecord, PipelineRecord, Protocol, ReplyRecord, RequestRecord } from '../src/core/records.js';
import { testConnection } from '../src/testing/connection.js';

const conn = testConnection();
const utf8 = new TextEncoder();

function frame(text: string | Uint8Array, protocol: Protocol = 'jsonrpc'): FrameRecord {
  return { type: 'frame', connection: conn, protocol, bytes: typeof text === 'string' ? utf8.encode(text) : text };
}

function decodeAll(frames: PipelineRecord[], options?: DecodeJsonRpcOptions): PipelineRecord[] {
  let out: PipelineRecord[] = [];
  from(frames)
    .pipe(decodeJsonRpc(options), toArray())
    .subscribe((records) => (out = records));
  return out;
}

function decodeOne(text: string, protocol: Protocol = 'jsonrpc'): PipelineRecord {
  const out = decodeAll([frame(text, protocol)]);
  expect(out).toHaveLength(1);
  return out[0]!;
}

function error(id: ReplyRecord['id'], code: number, message: string, protocol: Protocol = 'jsonrpc'): ReplyRecord {
  return { type: 'reply', connection: conn, protocol, id, kind: 'error', error: { code, message } };
}

function request(fields: Partial<RequestRecord> & { method: string }): RequestRecord {
  return { type: 'request', connection: conn, protocol: 'jsonrpc', id: null, notification: false, params: undefined, ...fields };
}

describe('decodeJsonRpc()', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  describe('as an operator', () => {
    const values = {
      f: frame('{"jsonrpc":"2.0","id":1,"method":"sum","params":[1,2]}'),
      g: frame('{oops'),
      o: { type: 'open', connection: conn } as PipelineRecord,
      e: { type: 'end', connection: conn } as PipelineRecord,
    };
    const decoded = {
      r: request({ id: 1, method: 'sum', params: [1, 2] }),
      x: error(null, -32700, 'Parse error'),
      o: values.o,
      e: values.e,
    };

    it('decodes frames and passes other records through, in order', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-o-f-g-e-|', values);
        expectObservable(source.pipe(decodeJsonRpc())).toBe('-o-r-x-e-|', decoded);
        expectSubscriptions(source.subscriptions).toBe('^--------!');
      });
    });

    it('propagates the source error', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-f-#', values, new Error('boom'));
        expectObservable(source.pipe(decodeJsonRpc())).toBe('-r-#', decoded, new Error('boom'));
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('unsubscribes from the source when unsubscribed early', () => {
      scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-f-g-f-|', values);
        expectObservable(source.pipe(decodeJsonRpc()), '^----!').toBe('-r-x', decoded);
        expectSubscriptions(source.subscriptions).toBe('^----!');
      });
    });

    it('mirrors empty, never and throw', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const empty = cold<PipelineRecord>('|');
        const never = cold<PipelineRecord>('-');
        const thrown = cold<PipelineRecord>('#');
        expectObservable(empty.pipe(decodeJsonRpc())).toBe('|');
        expectObservable(never.pipe(decodeJsonRpc())).toBe('-');
        expectObservable(thrown.pipe(decodeJsonRpc())).toBe('#');
        expectSubscriptions(empty.subscriptions).toBe('(^!)');
        expectSubscriptions(never.subscriptions).toBe('^');
        expectSubscriptions(thrown.subscriptions).toBe('(^!)');
      });
    });

    it('leaves MCP1 frames alone', () => {
      const mcp1: FrameRecord = { ...frame('{}'), protocol: 'mcp1' };
      expect(decodeAll([mcp1])).toEqual([mcp1]);
    });
  });

  describe('requests', () => {
    it('decodes a request with array or object params, and without params', () => {
      expect(decodeOne('{"jsonrpc":"2.0","id":1,"method":"a","params":[1]}')).toEqual(request({ id: 1, method: 'a', params: [1] }));
      expect(decodeOne('{"jsonrpc":"2.0","id":2,"method":"b","params":{"x":1}}')).toEqual(
        request({ id: 2, method: 'b', params: { x: 1 } }),
      );
      expect(decodeOne('{"jsonrpc":"2.0","id":3,"method":"c"}')).toEqual(request({ id: 3, method: 'c' }));
    });

    it('keeps the id exactly as sent: string, number or null', () => {
      for (const id of ['abc', '', '1', 0, -7, 1.5, 2 ** 40, null]) {
        const record = decodeOne(JSON.stringify({ jsonrpc: '2.0', id, method: 'm' })) as RequestRecord;
        expect(record.type).toBe('request');
        expect(record.id).toStrictEqual(id);
        expect(record.notification).toBe(false);
      }
    });

    it('makes a message without an id member a notification', () => {
      expect(decodeOne('{"jsonrpc":"2.0","method":"log","params":["hi"]}')).toEqual(
        request({ id: null, notification: true, method: 'log', params: ['hi'] }),
      );
    });

    it('decodes LSP frames the same way, keeping the protocol', () => {
      expect(decodeOne('{"jsonrpc":"2.0","id":"q","method":"m"}', 'lsp')).toEqual(request({ protocol: 'lsp', id: 'q', method: 'm' }));
    });

    it('accepts any whitespace and a byte-order mark around the value', () => {
      expect(decodeOne('\ufeff \n{"jsonrpc":"2.0","id":1,"method":"m"}\r\n')).toEqual(request({ id: 1, method: 'm' }));
    });
  });

  describe('errors', () => {
    it('answers bytes that are not JSON with -32700, id null', () => {
      expect(decodeOne('{"jsonrpc":"2.0","id":1,"method":')).toEqual(error(null, -32700, 'Parse error'));
      expect(decodeOne('')).toEqual(error(null, -32700, 'Parse error'));
    });

    it('answers malformed UTF-8 with -32700 instead of guessing characters', () => {
      const bytes = Uint8Array.from([...utf8.encode('{"jsonrpc":"2.0","id":1,"method":"'), 0xff, 0xfe, ...utf8.encode('"}')]);
      expect(decodeAll([frame(bytes)])).toEqual([error(null, -32700, 'Parse error')]);
    });

    it('answers -32600 with the id where the id is valid', () => {
      const cases: Array<[string, ReplyRecord['id']]> = [
        ['{"jsonrpc":"1.0","id":5,"method":"m"}', 5],
        ['{"id":"s","method":"m"}', 's'],
        ['{"jsonrpc":2.0,"id":null,"method":"m"}', null],
        ['{"jsonrpc":"2.0","id":6,"method":1}', 6],
        ['{"jsonrpc":"2.0","id":7}', 7],
        ['{"jsonrpc":"2.0","id":8,"method":"m","params":"x"}', 8],
        ['{"jsonrpc":"2.0","id":9,"method":"m","params":null}', 9],
        ['{"jsonrpc":"2.0","id":10,"method":"m","params":3}', 10],
      ];
      for (const [text, id] of cases) expect(decodeOne(text), text).toEqual(error(id, -32600, 'Invalid Request'));
    });

    it('answers -32600 with id null where the id itself is invalid', () => {
      for (const id of ['{}', '[]', 'true', '[1]']) {
        const text = `{"jsonrpc":"2.0","id":${id},"method":"m"}`;
        expect(decodeOne(text), text).toEqual(error(null, -32600, 'Invalid Request'));
      }
    });

    it('answers values that are not request objects with -32600, id null', () => {
      for (const text of ['1', '"x"', 'null', 'true', '{}', '{"foo":"boo"}']) {
        expect(decodeOne(text), text).toEqual(error(null, -32600, 'Invalid Request'));
      }
    });

    it('answers an invalid message even when it has no id (the specification does)', () => {
      expect(decodeOne('{"jsonrpc":"2.0","method":"m","params":"bar"}')).toEqual(error(null, -32600, 'Invalid Request'));
    });

    it('marks its error replies as not final (they never entered handle())', () => {
      const reply = decodeOne('nope') as ReplyRecord;
      expect(reply.final).toBeUndefined();
    });
  });

  describe('batches', () => {
    it('answers an empty batch with one -32600 error that is not a batch member', () => {
      const out = decodeAll([frame('[]')]);
      expect(out).toEqual([error(null, -32600, 'Invalid Request')]);
      expect((out[0] as ReplyRecord).batch).toBeUndefined();
    });

    it('gives each invalid member of [1,2] its own -32600, sharing one batch', () => {
      const out = decodeAll([frame('[1,2]')]) as ReplyRecord[];
      expect(out).toHaveLength(2);
      for (const reply of out) expect(reply).toMatchObject({ kind: 'error', id: null, error: { code: -32600 } });
      expect(out[0]!.batch).toBe(out[1]!.batch);
      expect(out[0]!.batch).toEqual({ pending: 2, replies: [] });
    });

    it('decodes a mixed batch member by member, in order', () => {
      const text =
        '[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"n"},{"foo":1},{"jsonrpc":"2.0","id":"b","method":"b","params":{}}]';
      const out = decodeAll([frame(text)]);
      const batch = { pending: 4, replies: [] };
      expect(out).toEqual([
        request({ id: 1, method: 'a', batch }),
        request({ id: null, notification: true, method: 'n', batch }),
        { ...error(null, -32600, 'Invalid Request'), batch },
        request({ id: 'b', method: 'b', params: {}, batch }),
      ]);
      const batches = new Set(out.map((r) => (r as RequestRecord).batch));
      expect(batches.size).toBe(1);
    });

    it('decodes a batch of notifications only', () => {
      const out = decodeAll([frame('[{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","method":"b"}]')]) as RequestRecord[];
      expect(out.map((r) => [r.method, r.notification, r.batch?.pending])).toEqual([
        ['a', true, 2],
        ['b', true, 2],
      ]);
    });

    it('treats a nested array member as an invalid request', () => {
      const out = decodeAll([frame('[[{"jsonrpc":"2.0","id":1,"method":"a"}]]')]);
      expect(out).toEqual([{ ...error(null, -32600, 'Invalid Request'), batch: { pending: 1, replies: [] } }]);
    });
  });

  describe('cancellation ($/cancelRequest)', () => {
    const cancel = '{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":4}}';

    it.each(['jsonrpc', 'lsp'] as const)('turns $/cancelRequest on %s into a CancelRecord', (protocol) => {
      expect(decodeOne(cancel, protocol)).toEqual({ type: 'cancel', connection: conn, protocol, id: 4 });
      expect(decodeOne('{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":"s"}}', protocol)).toEqual({
        type: 'cancel',
        connection: conn,
        protocol,
        id: 's',
      });
    });

    it('cancels in order among the requests of an NDJSON connection', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const values = {
          f: frame('{"jsonrpc":"2.0","id":4,"method":"sleep","params":[1000]}'),
          c: frame(cancel),
          g: frame('{"jsonrpc":"2.0","id":5,"method":"ping"}'),
        };
        expectObservable(cold('-f-c-g-|', values).pipe(decodeJsonRpc())).toBe('-r-x-p-|', {
          r: request({ id: 4, method: 'sleep', params: [1000] }),
          x: { type: 'cancel', connection: conn, protocol: 'jsonrpc', id: 4 },
          p: request({ id: 5, method: 'ping' }),
        });
      });
    });

    it('leaves it a notification without an id to cancel, or a request with an id of its own, or when disabled', () => {
      for (const protocol of ['jsonrpc', 'lsp'] as const) {
        for (const text of [
          '{"jsonrpc":"2.0","method":"$/cancelRequest","params":{}}',
          '{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":null}}',
          '{"jsonrpc":"2.0","method":"$/cancelRequest","params":[4]}',
        ]) {
          expect(decodeOne(text, protocol)).toMatchObject({ type: 'request', method: '$/cancelRequest', notification: true });
        }
        expect(decodeOne('{"jsonrpc":"2.0","id":9,"method":"$/cancelRequest","params":{"id":4}}', protocol)).toMatchObject({
          type: 'request',
          id: 9,
          notification: false,
        });
        expect(decodeAll([frame(cancel, protocol)], { cancelMethod: null })[0]).toMatchObject({ type: 'request' });
      }
    });

    it('takes another cancel method when told', () => {
      const custom = '{"jsonrpc":"2.0","method":"cancel","params":{"id":4}}';
      expect(decodeAll([frame(custom)], { cancelMethod: 'cancel' })).toEqual([
        { type: 'cancel', connection: conn, protocol: 'jsonrpc', id: 4 },
      ]);
      expect(decodeOne(cancel.replace('$/cancelRequest', 'cancel'))).toMatchObject({ type: 'request', method: 'cancel' });
    });

    it('accounts for a cancel inside a batch with a silent member answer', () => {
      const out = decodeAll([frame(`[${cancel}]`, 'lsp')]);
      expect(out).toEqual([
        { type: 'cancel', connection: conn, protocol: 'lsp', id: 4 },
        {
          type: 'reply',
          connection: conn,
          protocol: 'lsp',
          id: null,
          kind: 'result',
          silent: true,
          batch: { pending: 1, replies: [] },
        },
      ]);
    });
  });

  describe('hostile input', () => {
    it('puts a "__proto__" key in params as an own property, touching no prototype', () => {
      const out = decodeOne(
        '{"jsonrpc":"2.0","id":1,"method":"m","params":{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}}',
      ) as RequestRecord;
      const params = out.params as Record<string, unknown>;
      expect(Object.getPrototypeOf(params)).toBe(Object.prototype);
      expect(Object.hasOwn(params, '__proto__')).toBe(true);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).x).toBeUndefined();
    });

    it('reads members only from the message itself, not from a polluted Object.prototype', () => {
      const proto = Object.prototype as Record<string, unknown>;
      proto.jsonrpc = '2.0';
      proto.method = 'm';
      try {
        expect(decodeOne('{"id":1}')).toEqual(error(1, -32600, 'Invalid Request'));
      } finally {
        delete proto.jsonrpc;
        delete proto.method;
      }
    });

    it('parses 100,000 levels of nesting without overflowing the stack', () => {
      const depth = 100_000;
      const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      const out = decodeOne(`{"jsonrpc":"2.0","id":1,"method":"m","params":${deep}}`);
      expect(out).toMatchObject({ type: 'request', id: 1 });
      expect(decodeAll([frame(deep)])).toEqual([{ ...error(null, -32600, 'Invalid Request'), batch: { pending: 1, replies: [] } }]);
      expect(decodeOne('['.repeat(depth))).toEqual(error(null, -32700, 'Parse error'));
    });
  });
});

import { from, map, type OperatorFunction, pipe, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { decodeJsonRpc } from '../operators/decodeJsonRpc.js';
import { encodeJsonRpc } from '../operators/encodeJsonRpc.js';
import { handle } from '../operators/handle.js';
import type { EncodeOptions } from '../operators/internal/options.js';
import { route } from '../operators/route.js';
import { RpcError } from '../src/core/errors.js';
import type { Batch, PipelineRecord, Protocol, ReplyRecord, RpcId, ViolationRecord } from '../src/core/records.js';
import { testConnection } from '../src/testing/connection.js';

const conn = testConnection();

/** Outbound bytes as text, so that records compare with toEqual. */
const readable: OperatorFunction<PipelineRecord, unknown> = map((r) =>
  r.type === 'out' ? { out: new TextDecoder().decode(r.bytes), close: r.close } : r,
);

function encodeAll(records: PipelineRecord[], options?: EncodeOptions): unknown[] {
  let out: unknown[] = [];
  from(records)
    .pipe(encodeJsonRpc(options), readable, toArray())
    .subscribe((all) => (out = all));
  return out;
}

function result(id: ReplyRecord['id'], value: unknown, extra: Partial<ReplyRecord> = {}): ReplyRecord {
  return { type: 'reply', connection: conn, protocol: 'jsonrpc', id, kind: 'result', result: value, final: true, ...extra };
}

function failure(id: ReplyRecord['id'], code: number, message: string, extra: Partial<ReplyRecord> = {}): ReplyRecord {
  return { type: 'reply', connection: conn, protocol: 'jsonrpc', id, kind: 'error', error: { code, message }, final: true, ...extra };
}

function violation(protocol: Protocol | undefined, error?: ViolationRecord['error']): ViolationRecord {
  return { type: 'violation', connection: conn, protocol, error, reason: 'unknown-protocol' };
}

describe('encodeJsonRpc()', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  describe('as an operator', () => {
    const values = {
      r: result(1, 3),
      v: violation(undefined, { code: -32700, message: 'Unrecognized protocol' }),
      e: { type: 'end', connection: conn } as PipelineRecord,
    };
    const encoded = {
      a: { out: '{"jsonrpc":"2.0","id":1,"result":3}\n', close: undefined },
      b: { out: '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Unrecognized protocol"}}\n', close: true },
      e: values.e,
    };

    it('encodes replies and violations, passing other records through in order', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-r-v-e-|', values);
        expectObservable(source.pipe(encodeJsonRpc(), readable)).toBe('-a-b-e-|', encoded);
        expectSubscriptions(source.subscriptions).toBe('^------!');
      });
    });

    it('propagates the source error', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const source = cold('-r-#', values);
        expectObservable(source.pipe(encodeJsonRpc(), readable)).toBe('-a-#', encoded);
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('unsubscribes from the source when unsubscribed early', () => {
      scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-r-r-r-|', values);
        expectObservable(source.pipe(encodeJsonRpc(), readable), '^--!').toBe('-a-', encoded);
        expectSubscriptions(source.subscriptions).toBe('^--!');
      });
    });

    it('mirrors empty, never and throw', () => {
      scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const empty = cold<PipelineRecord>('|');
        const never = cold<PipelineRecord>('-');
        const thrown = cold<PipelineRecord>('#');
        expectObservable(empty.pipe(encodeJsonRpc())).toBe('|');
        expectObservable(never.pipe(encodeJsonRpc())).toBe('-');
        expectObservable(thrown.pipe(encodeJsonRpc())).toBe('#');
        expectSubscriptions(empty.subscriptions).toBe('(^!)');
        expectSubscriptions(never.subscriptions).toBe('^');
        expectSubscriptions(thrown.subscriptions).toBe('(^!)');
      });
    });

    it('leaves MCP1 replies and violations to encodeMcp1()', () => {
      const records: PipelineRecord[] = [result(1, 2, { protocol: 'mcp1' }), violation('mcp1', { code: -32600, message: 'x' })];
      expect(encodeAll(records)).toEqual(records);
    });
  });

  describe('responses', () => {
    it('writes a result as one NDJSON line, members in the specification order', () => {
      expect(encodeAll([result(1, { a: [1, 'x'] })])).toEqual([
        { out: '{"jsonrpc":"2.0","id":1,"result":{"a":[1,"x"]}}\n', close: undefined },
      ]);
    });

    it('writes an undefined result as null', () => {
      expect(encodeAll([result('u', undefined)])).toEqual([{ out: '{"jsonrpc":"2.0","id":"u","result":null}\n' }]);
    });

    it('echoes string, number and null ids exactly', () => {
      const out = encodeAll([result('a"b', 0), result(-1.5, 0), result(null, 0)]) as Array<{ out: string }>;
      expect(out.map((o) => JSON.parse(o.out).id)).toStrictEqual(['a"b', -1.5, null]);
    });

    it('writes errors with and without data', () => {
      expect(encodeAll([failure(2, -32601, 'Method not found')])).toEqual([
        { out: '{"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"Method not found"}}\n' },
      ]);
      const withData = failure(3, -32602, 'Invalid params', { error: { code: -32602, message: 'Invalid params', data: { at: 0 } } });
      expect(encodeAll([withData])).toEqual([
        { out: '{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"Invalid params","data":{"at":0}}}\n' },
      ]);
    });

    it('frames LSP replies with Content-Length counting UTF-8 bytes', () => {
      const [out] = encodeAll([result(1, 'é€😀', { protocol: 'lsp' })]) as Array<{ out: string }>;
      const body = '{"jsonrpc":"2.0","id":1,"result":"é€😀"}';
      expect(out!.out).toBe(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      expect(Buffer.byteLength(body)).toBe(body.length + 1 + 2 + 2);
    });

    it('encodes bodies larger than its scratch buffer byte for byte', () => {
      const big = 'ü'.repeat(50_000) + '😀'.repeat(10_000);
      const [line] = encodeAll([result(1, big)]) as Array<{ out: string }>;
      expect(line!.out).toBe(`{"jsonrpc":"2.0","id":1,"result":"${big}"}\n`);
      const [lsp] = encodeAll([result(1, big, { protocol: 'lsp' })]) as Array<{ out: string }>;
      const body = `{"jsonrpc":"2.0","id":1,"result":"${big}"}`;
      expect(lsp!.out).toBe(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });

    it('answers -32603 for results JSON cannot hold, without throwing', () => {
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      const throwing = {
        toJSON: () => {
          throw new Error('secret');
        },
      };
      const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
      const internal = '{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"Internal error"}}\n';
      for (const value of [10n, cycle, throwing, deep]) {
        expect(encodeAll([result(1, value)])).toEqual([{ out: internal }]);
      }
      expect(encodeAll([failure(1, 1, 'x', { error: { code: 1, message: 'x', data: 1n } })])).toEqual([{ out: internal }]);
    });

    it('serializes a result once: its toJSON runs once, whether it fails or its JSON is large', () => {
      const internal = (id: RpcId) => `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"error":{"code":-32603,"message":"Internal error"}}\n`;
      for (const id of [1, 'one'] as RpcId[]) {
        let calls = 0;
        const failsFirst = { toJSON: () => (calls++ === 0 ? 10n : 'ok') };
        expect(encodeAll([result(id, failsFirst)])).toEqual([{ out: internal(id) }]);
        expect(calls).toBe(1);
        calls = 0;
        const large = { toJSON: () => (calls++, 'z'.repeat(50_000)) };
        expect(encodeAll([result(id, large)])).toEqual([
          { out: `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":"${'z'.repeat(50_000)}"}\n` },
        ]);
        expect(calls).toBe(1);
      }
    });

    it('writes nothing for silent replies, stream items and pongs', () => {
      const records: ReplyRecord[] = [
        result(null, undefined, { silent: true }),
        { ...result(1, 5), kind: 'item', final: false },
        { ...result(1, undefined), kind: 'pong', final: false },
      ];
      expect(encodeAll(records)).toEqual([]);
    });
  });

  describe('violations', () => {
    it('writes the exact unknown-protocol line and asks to close', () => {
      let records: PipelineRecord[] = [];
      from([violation(undefined, { code: -32700, message: 'Unrecognized protocol' })])
        .pipe(encodeJsonRpc(), toArray())
        .subscribe((all) => (records = all));
      expect(records).toHaveLength(1);
      const record = records[0]!;
      if (record.type !== 'out') throw new Error(`expected an out record, got ${record.type}`);
      const line = '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Unrecognized protocol"}}\n';
      expect(Array.from(record.bytes)).toEqual(Array.from(Buffer.from(line, 'utf8')));
      expect(record.close).toBe(true);
      expect(record.connection).toBe(conn);
    });

    it('frames a violation the way its protocol does', () => {
      const tooLarge = { code: -32600, message: 'Message too large' };
      expect(encodeAll([violation('jsonrpc', tooLarge), violation('lsp', tooLarge)])).toEqual([
        { out: '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Message too large"}}\n', close: true },
        {
          out: 'Content-Length: 81\r\n\r\n{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Message too large"}}',
          close: true,
        },
      ]);
    });

    it('closes silently for a violation without an error', () => {
      expect(encodeAll([violation(undefined)])).toEqual([{ out: '', close: true }]);
    });
  });

  describe('options.onFailure', () => {
    const internal = (id: number) => `{"jsonrpc":"2.0","id":${id},"error":{"code":-32603,"message":"Internal error"}}`;

    it('is told of each reply that cannot be encoded, with its method, on every framing and in batches', () => {
      const reports: Array<[string | undefined, string]> = [];
      const onFailure: EncodeOptions['onFailure'] = (method, error) => reports.push([method, (error as Error).constructor.name]);
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      const throwing = {
        toJSON: () => {
          throw new RangeError('toJSON bug');
        },
      };
      const batch: Batch = { pending: 2, replies: [] };
      const out = encodeAll(
        [
          result(1, 10n, { method: 'big' }),
          result(2, cycle, { method: 'cycle', protocol: 'lsp' }),
          failure(3, 1, 'x', { error: { code: 1, message: 'x', data: 1n }, method: 'badData' }),
          result(4, throwing, { batch, method: 'inBatch' }),
          result(5, 'fine', { batch, method: 'fine' }),
          result(6, throwing),
          result(7, { ok: true }, { method: 'ok' }),
        ],
        { onFailure },
      );
      expect(reports).toEqual([
        ['big', 'TypeError'],
        ['cycle', 'TypeError'],
        ['badData', 'TypeError'],
        ['inBatch', 'RangeError'],
        [undefined, 'RangeError'],
      ]);
      // What goes on the wire is unchanged by reporting.
      const body = internal(2);
      expect(out).toEqual([
        { out: `${internal(1)}\n` },
        { out: `Content-Length: ${body.length}\r\n\r\n${body}` },
        { out: `${internal(3)}\n` },
        { out: `[${internal(4)},{"jsonrpc":"2.0","id":5,"result":"fine"}]\n` },
        { out: `${internal(6)}\n` },
        { out: '{"jsonrpc":"2.0","id":7,"result":{"ok":true}}\n' },
      ]);
    });

    it('is not told of replies that encode', () => {
      let told = 0;
      const batch: Batch = { pending: 1, replies: [] };
      encodeAll([result(1, 1), result(2, 'x', { protocol: 'lsp' }), failure(3, 1, 'x'), result(4, [1], { batch })], {
        onFailure: () => told++,
      });
      expect(told).toBe(0);
    });
  });

  describe('batches', () => {
    function member(batch: Batch, id: ReplyRecord['id'], value: unknown, extra: Partial<ReplyRecord> = {}): ReplyRecord {
      return result(id, value, { batch, ...extra });
    }

    it('writes one array once every member is answered, in answer order', () => {
      const batch: Batch = { pending: 3, replies: [] };
      const out = encodeAll([
        member(batch, 2, 'b'),
        member(batch, null, undefined, { silent: true }),
        failure(1, -32601, 'Method not found', { batch }),
      ]);
      expect(out).toEqual([
        {
          out: '[{"jsonrpc":"2.0","id":2,"result":"b"},{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found"}}]\n',
        },
      ]);
      expect(batch.pending).toBe(0);
    });

    it('writes nothing for a batch of notifications only', () => {
      const batch: Batch = { pending: 2, replies: [] };
      expect(encodeAll([member(batch, null, 1, { silent: true }), member(batch, null, 2, { silent: true })])).toEqual([]);
    });

    it('counts decode errors (not final) as member answers', () => {
      const batch: Batch = { pending: 2, replies: [] };
      const decodeError = (): ReplyRecord => ({ ...failure(null, -32600, 'Invalid Request', { batch }), final: undefined });
      expect(encodeAll([decodeError(), decodeError()])).toEqual([
        {
          out: '[{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}},{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}]\n',
        },
      ]);
    });

    it('costs an unserializable member only its own answer', () => {
      const batch: Batch = { pending: 2, replies: [] };
      expect(encodeAll([member(batch, 1, 1n), member(batch, 2, 2)])).toEqual([
        {
          out: '[{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"Internal error"}},{"jsonrpc":"2.0","id":2,"result":2}]\n',
        },
      ]);
    });

    it('ignores stream items and answers after the batch was written', () => {
      const batch: Batch = { pending: 1, replies: [] };
      const out = encodeAll([{ ...member(batch, 1, 0), kind: 'item', final: false }, member(batch, 1, 1), member(batch, 1, 2)]);
      expect(out).toEqual([{ out: '[{"jsonrpc":"2.0","id":1,"result":1}]\n' }]);
    });

    it('frames an LSP batch with Content-Length', () => {
      const batch: Batch = { pending: 1, replies: [] };
      const body = '[{"jsonrpc":"2.0","id":1,"result":1}]';
      expect(encodeAll([member(batch, 1, 1, { protocol: 'lsp' })])).toEqual([{ out: `Content-Length: ${body.length}\r\n\r\n${body}` }]);
    });
  });

  describe('with decodeJsonRpc(), route() and handle(): the examples of the JSON-RPC 2.0 specification', () => {
    const handlers = {
      subtract: (params: unknown) =>
        Array.isArray(params)
          ? params[0] - params[1]
          : (params as { minuend: number; subtrahend: number }).minuend - (params as { subtrahend: number }).subtrahend,
      sum: (params: unknown) => (params as number[]).reduce((a, b) => a + b, 0),
      update: () => undefined,
      notify_hello: () => undefined,
      get_data: () => ['hello', 5],
      fail: () => {
        throw new RpcError(-32602, 'Invalid params', { why: 'test' });
      },
    };
    const server = pipe(decodeJsonRpc(), route(handlers), handle(), encodeJsonRpc());

    function exchange(text: string): string {
      const conn2 = testConnection();
      let out = '';
      from([{ type: 'frame', connection: conn2, protocol: 'jsonrpc', bytes: new TextEncoder().encode(text) } as PipelineRecord])
        .pipe(server)
        .subscribe((r) => {
          if (r.type === 'out') out += new TextDecoder().decode(r.bytes);
        });
      return out;
    }

    const cases: Array<[string, string, string]> = [
      ['positional params', '{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}', '{"jsonrpc":"2.0","id":1,"result":19}\n'],
      [
        'named params',
        '{"jsonrpc":"2.0","method":"subtract","params":{"subtrahend":23,"minuend":42},"id":3}',
        '{"jsonrpc":"2.0","id":3,"result":19}\n',
      ],
      ['a notification', '{"jsonrpc":"2.0","method":"update","params":[1,2,3,4,5]}', ''],
      [
        'a missing method',
        '{"jsonrpc":"2.0","method":"foobar","id":"1"}',
        '{"jsonrpc":"2.0","id":"1","error":{"code":-32601,"message":"Method not found"}}\n',
      ],
      [
        'invalid JSON',
        '{"jsonrpc":"2.0","method":"foobar,"params":"bar","baz]',
        '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}\n',
      ],
      [
        'an invalid request',
        '{"jsonrpc":"2.0","method":1,"params":"bar"}',
        '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}\n',
      ],
      [
        'a batch with invalid JSON',
        '[{"jsonrpc":"2.0","method":"sum","params":[1,2,4],"id":"1"},{"jsonrpc":"2.0","method"]',
        '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}\n',
      ],
      ['an empty batch', '[]', '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}\n'],
      ['an invalid batch of one', '[1]', '[{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}]\n'],
      [
        'an invalid batch',
        '[1,2,3]',
        '[{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}},{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}},{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}]\n',
      ],
      [
        'a mixed batch',
        '[{"jsonrpc":"2.0","method":"sum","params":[1,2,4],"id":"1"},{"jsonrpc":"2.0","method":"notify_hello","params":[7]},{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":"2"},{"foo":"boo"},{"jsonrpc":"2.0","method":"foo.get","params":{"name":"myself"},"id":"5"},{"jsonrpc":"2.0","method":"get_data","id":"9"}]',
        '[{"jsonrpc":"2.0","id":"1","result":7},{"jsonrpc":"2.0","id":"2","result":19},{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}},{"jsonrpc":"2.0","id":"5","error":{"code":-32601,"message":"Method not found"}},{"jsonrpc":"2.0","id":"9","result":["hello",5]}]\n',
      ],
      [
        'a batch of notifications',
        '[{"jsonrpc":"2.0","method":"notify_sum","params":[1,2,4]},{"jsonrpc":"2.0","method":"notify_hello","params":[7]}]',
        '',
      ],
      [
        'an RpcError with data',
        '{"jsonrpc":"2.0","method":"fail","id":4}',
        '{"jsonrpc":"2.0","id":4,"error":{"code":-32602,"message":"Invalid params","data":{"why":"test"}}}\n',
      ],
    ];
    for (const [name, request, response] of cases) {
      it(`answers ${name} as the specification shows`, () => {
        expect(exchange(request)).toBe(response);
      });
    }
  });
});

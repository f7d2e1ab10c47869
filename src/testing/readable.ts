import { map, type OperatorFunction } from 'rxjs';
import type { PipelineRecord } from '../core/records.js';
import { hex, utf8 } from './records.js';

/**
 * A record as a spec writes its expected value: `connection` is the connection's
 * `id`, and `bytes` (of data, frame and out records) is replaced by `text`.
 */
export type ReadableRecord<R = PipelineRecord> = R extends { readonly bytes: Uint8Array }
  ? Omit<R, 'connection' | 'bytes'> & { readonly connection: number; readonly text: string }
  : R extends { readonly connection: unknown }
    ? Omit<R, 'connection'> & { readonly connection: number }
    : never;

/** Options of {@link readable}. */
export interface ReadableOptions {
  /** How `bytes` becomes `text`: UTF-8 (default) or hex, for binary payloads such as MessagePack. */
  readonly encoding?: 'utf8' | 'hex';
}

/**
 * One record made readable (see {@link ReadableRecord}); other fields are kept as they are.
 *
 * @example
 * ```ts
 * toReadable(dataRecord(conn, 'hi')); // { type: 'data', connection: 1, text: 'hi' }
 * ```
 */
export function toReadable(record: PipelineRecord, options: ReadableOptions = {}): ReadableRecord {
  const decode = options.encoding === 'hex' ? hex : utf8;
  const { connection, ...rest } = record;
  if ('bytes' in rest) {
    const { bytes, ...fields } = rest;
    return { ...fields, connection: connection.id, text: decode(bytes) } as ReadableRecord;
  }
  return { ...rest, connection: connection.id } as ReadableRecord;
}

/**
 * An operator for marble specs: maps each record to {@link toReadable}'s form, so
 * expected values are short literals instead of connections and byte arrays.
 *
 * @example
 * ```ts
 * expectObservable(source.pipe(detectProtocol(), jsonFrames(), readable())).toBe('-f-|', {
 *   f: { type: 'frame', connection: 1, protocol: 'jsonrpc', text: '{"id":1}' },
 * });
 * ```
 */
export function readable(options?: ReadableOptions): OperatorFunction<PipelineRecord, ReadableRecord> {
  return map((record) => toReadable(record, options));
}

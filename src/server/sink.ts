import type { Observer } from 'rxjs';
import type { PipelineRecord } from '../core/records.js';

/**
 * The end of the pipeline: writes each OutboundRecord to its connection and, when
 * it says `close`, ends the connection (queued bytes are flushed first). A
 * violation that no encoder turned into bytes still closes its connection, so a
 * custom pipeline without encoders cannot leave a broken connection open.
 */
export function sink(onError: (error: unknown) => void): Observer<PipelineRecord> {
  return {
    next(r) {
      if (r.type === 'out') {
        if (r.bytes.length > 0) r.connection.write(r.bytes);
        if (r.close) r.connection.end();
      } else if (r.type === 'violation') {
        r.connection.end();
      }
    },
    error: onError,
    complete() {},
  };
}

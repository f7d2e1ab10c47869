import { from, type OperatorFunction } from 'rxjs';
import type { PipelineRecord } from '../../src/core/records.js';

/** Runs `records` through `op` synchronously and returns everything it emitted. */
export function collect(op: OperatorFunction<PipelineRecord, PipelineRecord>, records: PipelineRecord[]): PipelineRecord[] {
  const out: PipelineRecord[] = [];
  from(records)
    .pipe(op)
    .subscribe((r) => out.push(r));
  return out;
}

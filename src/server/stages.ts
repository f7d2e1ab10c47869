import type { OperatorFunction } from 'rxjs';
import { OptionsError } from '../core/errors.js';
import type { PipelineRecord } from '../core/records.js';

/** One operator of the server pipeline: records in, records out. */
export type Stage = OperatorFunction<PipelineRecord, PipelineRecord>;

/** A stage and the name it is found by. */
export interface NamedStage {
  readonly name: string;
  readonly operator: Stage;
}

/**
 * The server's pipeline as an ordered list of named stages. The default names are
 * `proxyProtocol` (only where a listener expects PROXY headers), `detectProtocol`,
 * `mcp1Frames`, `decodeMcp1`, `contentLengthFrames`, `jsonFrames`, `decodeJsonRpc`,
 * `handle` (route + handle; createServer() wraps the stage of this name in the
 * backpressure() that counts requests in flight), `encodeMcp1`, `encodeJsonRpc`.
 */
export type PipelineStages = readonly NamedStage[];

/**
 * Inserts `operator` as stage `name` right after the stage `after`.
 *
 * @example
 * ```ts
 * const server = await createServer({
 *   listen: [{ port: 7070 }],
 *   handlers,
 *   pipeline: (stages) => insertAfter(stages, 'decodeJsonRpc', 'auth', requireToken()),
 * });
 * ```
 * @throws OptionsError when no stage is named `after`, or `name` is taken.
 */
export function insertAfter(stages: PipelineStages, after: string, name: string, operator: Stage): PipelineStages {
  return insertAt(stages, indexOf(stages, after) + 1, name, operator);
}

/**
 * Inserts `operator` as stage `name` right before the stage `before`.
 *
 * @example
 * ```ts
 * pipeline: (stages) => insertBefore(stages, 'handle', 'log', tap((r) => console.log(r.type)))
 * ```
 */
export function insertBefore(stages: PipelineStages, before: string, name: string, operator: Stage): PipelineStages {
  return insertAt(stages, indexOf(stages, before), name, operator);
}

/**
 * Replaces the operator of stage `name`, keeping its place and name.
 *
 * @example
 * ```ts
 * pipeline: (stages) => replaceStage(stages, 'jsonFrames', myJsonFrames({ maxMessageBytes: 4096 }))
 * ```
 */
export function replaceStage(stages: PipelineStages, name: string, operator: Stage): PipelineStages {
  const at = indexOf(stages, name);
  return [...stages.slice(0, at), { name, operator }, ...stages.slice(at + 1)];
}

/**
 * Removes stage `name`.
 *
 * @example
 * ```ts
 * pipeline: (stages) => removeStage(stages, 'mcp1Frames')
 * ```
 */
export function removeStage(stages: PipelineStages, name: string): PipelineStages {
  const at = indexOf(stages, name);
  return [...stages.slice(0, at), ...stages.slice(at + 1)];
}

/** Composes the stages, in order, into one operator. */
export function composeStages(stages: PipelineStages): Stage {
  const operators = stages.map((s) => s.operator);
  return (source) => operators.reduce((acc, op) => op(acc), source);
}

/** Checks that stage names are unique strings and operators are functions. */
export function checkStages(stages: PipelineStages): void {
  const seen = new Set<string>();
  for (const stage of stages) {
    if (typeof stage?.name !== 'string' || typeof stage.operator !== 'function') {
      throw new OptionsError('every pipeline stage must be { name: string, operator: function }');
    }
    if (seen.has(stage.name)) throw new OptionsError(`two pipeline stages are named ${stage.name}`);
    seen.add(stage.name);
  }
}

function indexOf(stages: PipelineStages, name: string): number {
  const at = stages.findIndex((s) => s.name === name);
  if (at < 0) throw new OptionsError(`no pipeline stage named ${name} (have: ${stages.map((s) => s.name).join(', ')})`);
  return at;
}

function insertAt(stages: PipelineStages, at: number, name: string, operator: Stage): PipelineStages {
  if (stages.some((s) => s.name === name)) throw new OptionsError(`a pipeline stage is already named ${name}`);
  return [...stages.slice(0, at), { name, operator }, ...stages.slice(at)];
}

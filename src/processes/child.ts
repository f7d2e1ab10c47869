/**
 * The server-process side of a primary (primary.ts): where to listen, saying when
 * it listens, answering for its stats, and draining when told, or when the primary
 * is gone.
 * @module
 */
import type { ListenerInfo } from '../core/connection.js';
import type { MetricsSnapshot } from '../server/metrics.js';
import type { ServerStats } from '../server/stats.js';
import type { ProcessesStats } from './mergeStats.js';
import { PROCESS_ENV, type ProcessSetup, type ToPrimary, type ToProcess } from './messages.js';

/** What a server process does for its primary. */
export interface ProcessHooks {
  /** This server's own figures. */
  readonly stats: () => ServerStats;
  /** Its metrics, for the primary's one /metrics. */
  readonly metrics: () => MetricsSnapshot;
  /** Drain as on SIGTERM; called once. */
  readonly drain: (why: string) => void;
  /** Stop at once. */
  readonly stopNow: () => void;
}

/** A server process's link to its primary. */
export class PrimaryLink {
  private nextId = 1;
  private readonly gathering = new Map<number, { resolve: (stats: ProcessesStats) => void; reject: (error: Error) => void }>();
  private drained = false;

  private constructor(readonly setup: ProcessSetup) {}

  /**
   * The link when this process was started by a primary (the environment says so
   * and an IPC channel is open), else undefined.
   */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): PrimaryLink | undefined {
    const text = env[PROCESS_ENV];
    if (text === undefined || process.send === undefined) return undefined;
    const setup = JSON.parse(text) as ProcessSetup;
    delete env[PROCESS_ENV]; // not for the handlers' own child processes
    return new PrimaryLink(setup);
  }

  /** Says the server listens, and from then on answers the primary. */
  ready(listeners: readonly ListenerInfo[], hooks: ProcessHooks): void {
    const drain = (why: string): void => {
      if (this.drained) return;
      this.drained = true;
      hooks.drain(why);
    };
    process.on('message', (message: ToProcess) => {
      if (message.type === 'stats') this.send({ type: 'stats', id: message.id, stats: hooks.stats() });
      else if (message.type === 'metrics') this.send({ type: 'metrics', id: message.id, snapshot: hooks.metrics() });
      else if (message.type === 'gathered') this.gathering.get(message.id)?.resolve(message.result);
      else if (message.type === 'drain') drain('drain from the primary');
      else if (message.type === 'stop') hooks.stopNow();
    });
    // Without its primary nobody would restart or stop this process: drain and go.
    const orphaned = (): void => {
      for (const waiting of this.gathering.values()) waiting.reject(new Error('the primary is gone'));
      drain('the primary is gone');
    };
    process.on('disconnect', orphaned);
    // The channel must not keep a drained process alive.
    process.channel?.unref();
    // A primary that died while this process was starting has already disconnected: nobody heard it.
    if (!process.connected) {
      orphaned();
      return;
    }
    this.send({ type: 'ready', listeners });
  }

  /** The whole server's stats, from the primary (for `rpc.stats`). */
  gather(): Promise<ProcessesStats> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (!process.connected) {
        reject(new Error('the primary is gone'));
        return;
      }
      const settle = (): void => void this.gathering.delete(id);
      this.gathering.set(id, {
        resolve: (stats) => {
          settle();
          resolve(stats);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
      this.send({ type: 'gather', id });
    });
  }

  private send(message: ToPrimary): void {
    // The callback takes a failed write (the primary just died) instead of an 'error' event.
    if (process.connected) process.send!(message, undefined, {}, () => undefined);
  }
}

/**
 * The primary of a server run as several processes: opens the shared sockets,
 * starts the processes, starts again one that dies, drains them all, and answers
 * for the whole server's stats. It accepts no connection itself.
 *
 * Node's `cluster` module is not used: it shares only node:net handles (the native
 * transport needs plain fds), and its default scheduling has the primary accept
 * every connection and pass it on, one more hop per connection. Plain
 * `child_process.spawn` with the sockets as inherited fds does what is needed.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { ListenerInfo } from '../core/connection.js';
import { ProcessStartError } from '../core/errors.js';
import type { MetricsSnapshot } from '../server/metrics.js';
import type { ServerStats } from '../server/stats.js';
import type { ListenTarget } from '../transport/types.js';
import { SharedListeners } from './listeners.js';
import { mergeStats, type ProcessesStats, type ProcessStats } from './mergeStats.js';
import { type PortableServerOptions, PROCESS_ENV, type ProcessSetup, type ToPrimary, type ToProcess } from './messages.js';

/** How the primary starts its processes and what it tells its operator. */
export interface PrimaryOptions {
  /** How many server processes (at least 1). */
  readonly processes: number;
  readonly listen: readonly ListenTarget[];
  /** Whether the processes can bind SO_REUSEPORT for TCP (their transport can). */
  readonly reusePort: boolean;
  /** File mode of the Unix sockets the primary binds that do not set their own. Default 0o600. */
  readonly socketMode?: number;
  /** The process to run: `node <script> ...args`, which must join the primary (see child.ts). */
  readonly script: string;
  readonly args: readonly string[];
  /** Given to every process (serveProcesses); `ringwire serve` passes its flags in `args` instead. */
  readonly serverOptions?: PortableServerOptions;
  /** Lines for the operator: process starts, deaths and restarts. */
  readonly log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** How long the processes may take to drain before they are killed (their own limit, plus a margin). */
  readonly drainTimeoutMs: number;
}

/** Restart delays: doubling from the first, up to the last; a process that lived this long starts the count again. */
const RESTART_FIRST_MS = 100;
const RESTART_MAX_MS = 5_000;
const HEALTHY_AFTER_MS = 10_000;
/** How long a process may take to answer a stats request. */
const STATS_TIMEOUT_MS = 2_000;
/** A process that does not say it is listening within this is a failed start. */
const READY_TIMEOUT_MS = 60_000;

/** One process slot: the process in it now, and its history. */
interface Slot {
  readonly index: number;
  child: ChildProcess | undefined;
  ready: boolean;
  startedAt: number;
  restarts: number;
  /** Deaths since it last lived HEALTHY_AFTER_MS. */
  failures: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * A running primary.
 *
 * @example
 * ```ts
 * const primary = await Primary.start({ processes: 2, listen: [{ port: 7070 }], reusePort: true,
 *   script: 'node_modules/ringwire/bin/ringwire.js', args: ['serve'], log: console.log, drainTimeoutMs: 15_000 });
 * process.on('SIGTERM', () => void primary.drain());
 * ```
 */
export class Primary {
  /** The listeners, as the first process reported them (real ports). */
  listeners: readonly ListenerInfo[] = [];
  private readonly slots: Slot[];
  private readonly ports = new Map<number, number>();
  private readonly started = Date.now();
  private stopping = false;
  private nextId = 1;
  private readonly pending = new Map<number, { answers: Map<number, unknown>; asked: Set<number>; done: () => void }>();
  /** Each slot's last metrics, for a scrape it does not answer in time: summed counters must not go backwards. */
  private readonly lastMetrics = new Map<number, MetricsSnapshot>();
  private readonly exits = new Set<() => void>();

  private constructor(
    private readonly options: PrimaryOptions,
    private readonly shared: SharedListeners,
  ) {
    this.slots = Array.from({ length: options.processes }, (_, index) => ({
      index,
      child: undefined,
      ready: false,
      startedAt: 0,
      restarts: 0,
      failures: 0,
      timer: undefined,
    }));
  }

  /**
   * Opens the shared sockets and starts every process; resolves once all listen.
   * @throws ProcessStartError when a process exits (or stays silent) before listening:
   * the others are stopped and the sockets closed first.
   */
  static async start(options: PrimaryOptions): Promise<Primary> {
    if (!Number.isInteger(options.processes) || options.processes < 1) {
      throw new ProcessStartError(`processes must be a whole number of at least 1 (got ${options.processes})`);
    }
    const shared = await SharedListeners.open(options.listen, options.reusePort, options.socketMode);
    const primary = new Primary(options, shared);
    try {
      // TCP port 0 under SO_REUSEPORT: the first process picks the port, the rest join it.
      const [first, ...rest] = primary.slots;
      if (shared.choosesPorts) await primary.launch(first!);
      await Promise.all((shared.choosesPorts ? rest : primary.slots).map((slot) => primary.launch(slot)));
    } catch (error) {
      primary.stopNow();
      await primary.exited();
      await shared.close();
      throw error;
    }
    return primary;
  }

  /** Process ids, by slot (undefined while a slot waits to restart). */
  get pids(): Array<number | undefined> {
    return this.slots.map((slot) => slot.child?.pid);
  }

  /** Starts the process of `slot`; resolves when it listens, rejects if it dies first. */
  private launch(slot: Slot): Promise<void> {
    const setup: ProcessSetup = {
      index: slot.index,
      listen: this.shared.processTargets(this.ports),
      ...(this.options.serverOptions === undefined ? {} : { options: this.options.serverOptions }),
    };
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [this.options.script, ...this.options.args], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...this.shared.fds],
        env: { ...process.env, [PROCESS_ENV]: JSON.stringify(setup) },
      });
    } catch (error) {
      // spawn throws for some failures (ENOMEM) and emits 'error' for others.
      this.spawnFailed(slot, error as Error);
      return Promise.reject(new ProcessStartError(`cannot start process ${slot.index}: ${(error as Error).message}`));
    }
    slot.child = child;
    slot.ready = false;
    slot.startedAt = Date.now();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new ProcessStartError(`process ${slot.index} (pid ${child.pid}) did not start listening in ${READY_TIMEOUT_MS / 1000} s`));
      }, READY_TIMEOUT_MS);
      child.on('message', (message: ToPrimary) => {
        if (message.type === 'ready' && !slot.ready) {
          clearTimeout(timer);
          slot.ready = true;
          this.learnPorts(message.listeners);
          resolve();
        } else this.onMessage(slot, child, message);
      });
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(new ProcessStartError(`cannot start process ${slot.index}: ${error.message}`));
        // A process that never started emits no 'exit': its slot must not stay empty.
        if (child.pid === undefined && slot.child === child) {
          slot.child = undefined;
          for (const notify of this.exits) notify();
          this.spawnFailed(slot, error);
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        const wasReady = slot.ready;
        slot.ready = false;
        if (slot.child === child) slot.child = undefined;
        this.answerFor(slot.index);
        for (const notify of this.exits) notify();
        const how = signal === null ? `exit code ${code}` : signal;
        if (!wasReady) {
          reject(new ProcessStartError(`process ${slot.index} (pid ${child.pid}) ended before it listened (${how})`));
          if (this.listeners.length > 0 && !this.stopping) this.restartLater(slot, how, child.pid);
          return;
        }
        if (!this.stopping) this.restartLater(slot, how, child.pid);
      });
    });
  }

  private learnPorts(listeners: readonly ListenerInfo[]): void {
    if (this.listeners.length === 0) this.listeners = listeners;
    for (const l of listeners) if (l.kind === 'tcp') this.ports.set(l.index, l.port);
  }

  /** After the first start, a slot whose process could not even be spawned is tried again like one that died. */
  private spawnFailed(slot: Slot, error: Error): void {
    if (this.listeners.length > 0 && !this.stopping) this.restartLater(slot, `spawn failed: ${error.message}`, undefined);
  }

  /** Its connections are lost with it; the other processes' are not touched. */
  private restartLater(slot: Slot, how: string, pid: number | undefined): void {
    if (Date.now() - slot.startedAt >= HEALTHY_AFTER_MS) slot.failures = 0;
    const delay = Math.min(RESTART_MAX_MS, RESTART_FIRST_MS * 2 ** slot.failures);
    slot.failures++;
    this.options.log('warn', `process ${slot.index} (pid ${pid}) ended (${how}); starting it again in ${delay} ms`);
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (this.stopping) return;
      slot.restarts++;
      this.launch(slot).then(
        () => this.options.log('info', `process ${slot.index} started again (pid ${slot.child?.pid})`),
        (error: Error) => this.options.log('error', error.message),
      );
    }, delay);
  }

  private onMessage(slot: Slot, child: ChildProcess, message: ToPrimary): void {
    if (message.type === 'stats' || message.type === 'metrics') {
      const waiting = this.pending.get(message.id);
      if (waiting === undefined) return;
      waiting.answers.set(slot.index, message.type === 'stats' ? message.stats : message.snapshot);
      if (waiting.answers.size >= waiting.asked.size) waiting.done();
    } else if (message.type === 'gather') {
      void this.stats().then((result) => send(child, { type: 'gathered', id: message.id, result }));
    }
  }

  /** A process that died cannot answer: stop waiting for it. */
  private answerFor(index: number): void {
    for (const waiting of this.pending.values()) {
      if (!waiting.asked.delete(index)) continue;
      waiting.answers.delete(index);
      if (waiting.answers.size >= waiting.asked.size) waiting.done();
    }
  }

  private readySlots(): Slot[] {
    return this.slots.filter((slot) => slot.ready && slot.child !== undefined);
  }

  /** Asks every listening process; resolves with the answers that came within STATS_TIMEOUT_MS, by slot. */
  private async ask<T>(type: 'stats' | 'metrics'): Promise<Map<number, T>> {
    const id = this.nextId++;
    const answers = new Map<number, T>();
    const slots = this.readySlots();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(finish, STATS_TIMEOUT_MS);
      function finish(): void {
        clearTimeout(timer);
        resolve();
      }
      this.pending.set(id, { answers: answers as Map<number, unknown>, asked: new Set(slots.map((slot) => slot.index)), done: finish });
      if (slots.length === 0) finish();
      for (const slot of slots) send(slot.child!, { type, id });
    });
    this.pending.delete(id);
    return answers;
  }

  /** The whole server's stats: totals, and each process's figures (processes that did not answer in time are left out). */
  async stats(): Promise<ProcessesStats> {
    const answers = await this.ask<ServerStats>('stats');
    const processes: ProcessStats[] = [];
    for (const slot of this.slots) {
      const stats = answers.get(slot.index);
      if (stats !== undefined) processes.push({ index: slot.index, pid: slot.child?.pid ?? 0, restarts: slot.restarts, ...stats });
    }
    return { ...mergeStats(processes, Date.now() - this.started), processes };
  }

  /** Each listening process's metrics, for one /metrics of the whole server (mergeMetricsSnapshots adds them up). */
  async metrics(): Promise<MetricsSnapshot[]> {
    const answers = await this.ask<MetricsSnapshot>('metrics');
    for (const [index, snapshot] of answers) this.lastMetrics.set(index, snapshot);
    // A slot that did not answer (busy, or starting again) counts with what it last said.
    return [...this.lastMetrics.values()];
  }

  /**
   * Drains every process as PROTOCOL.md section 4 says: the Unix socket files go at
   * once (new clients are refused), each process stops accepting, answers what it
   * has, and exits. Resolves true when every process exited cleanly in time; a
   * process still running after `drainTimeoutMs` is killed.
   */
  async drain(): Promise<boolean> {
    this.stopping = true;
    for (const slot of this.slots) if (slot.timer) clearTimeout(slot.timer);
    await this.shared.unlinkFiles();
    const codes: Array<number | null> = [];
    const running = this.slots.filter((slot) => slot.child !== undefined);
    for (const slot of running) {
      slot.child!.once('exit', (code) => codes.push(code));
      send(slot.child!, { type: 'drain' });
    }
    const killer = setTimeout(() => this.stopNow(), this.options.drainTimeoutMs);
    await this.exited();
    clearTimeout(killer);
    await this.shared.close();
    return codes.length === running.length && codes.every((code) => code === 0);
  }

  /** Stops every process at once (a second signal). */
  stopNow(): void {
    this.stopping = true;
    for (const slot of this.slots) {
      if (slot.timer) clearTimeout(slot.timer);
      if (slot.child) {
        send(slot.child, { type: 'stop' });
        slot.child.kill('SIGKILL');
      }
    }
  }

  /** Resolves once no process is running. */
  private exited(): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.slots.every((slot) => slot.child === undefined || slot.child.exitCode !== null || slot.child.signalCode !== null)) {
          this.exits.delete(check);
          resolve();
        }
      };
      this.exits.add(check);
      check();
    });
  }
}

function send(child: ChildProcess, message: ToProcess): void {
  // A process that is gone has no channel; its exit is handled where it is seen.
  if (child.connected) child.send(message, (error) => error && undefined);
}

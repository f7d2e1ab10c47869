/**
 * HAProxy for the deployment spec: finds Debian's binary, writes the haproxy.cfg
 * that docs/DEPLOYMENT.md shows (test timings), runs it in the foreground and reads
 * its stats socket; and a line client that tells a wrong answer from a lost one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { delimiter, join } from 'node:path';

/** The haproxy executable, or undefined. Debian puts it in /usr/sbin, which a non-root PATH often lacks. */
export function findHaproxy(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const path = join(dir, 'haproxy');
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {}
  }
  return undefined;
}

/** A TCP port nobody listened on a moment ago (HAProxy needs a number in its config, not 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export interface HaproxyLayout {
  readonly frontendPort: number;
  /** The ringwire servers' TCP ports, named rw1, rw2, … in order. */
  readonly serverPorts: readonly number[];
  readonly statsSocket: string;
}

/**
 * The configuration docs/DEPLOYMENT.md shows, with loopback addresses and health
 * checks fast enough for a test (a dead server is DOWN within ~0.5 s).
 */
export function haproxyConfig({ frontendPort, serverPorts, statsSocket }: HaproxyLayout): string {
  return `global
  maxconn 200
  stats socket ${statsSocket} mode 600 level user

defaults
  mode tcp
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  timeout tunnel 1h
  timeout check 1s
  retries 2
  option redispatch 1

frontend ringwire_in
  bind 127.0.0.1:${frontendPort}
  default_backend ringwire

backend ringwire
  balance leastconn
  option tcp-check
  tcp-check send "{\\"jsonrpc\\":\\"2.0\\",\\"id\\":1,\\"method\\":\\"ping\\"}\\n"
  tcp-check expect string "\\"result\\":\\"pong\\""
  default-server send-proxy-v2 check inter 200ms fall 2 rise 1 maxconn 100
${serverPorts.map((port, i) => `  server rw${i + 1} 127.0.0.1:${port}`).join('\n')}
`;
}

/** One server's line of HAProxy's `show stat`. */
export interface ServerState {
  readonly status: string;
  readonly checkStatus: string;
}

/** A foreground HAProxy (`-db`) and what it printed. */
export class Haproxy {
  output = '';
  readonly exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly layout: HaproxyLayout,
  ) {
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (this.output += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (this.output += s));
    this.exited = new Promise((done) => child.on('exit', (code) => done(code)));
  }

  /** Writes the config into `dir` and starts HAProxy on it; resolves once its stats socket answers. */
  static async start(binary: string, dir: string, layout: HaproxyLayout): Promise<Haproxy> {
    const config = join(dir, 'haproxy.cfg');
    writeFileSync(config, haproxyConfig(layout));
    const haproxy = new Haproxy(spawn(binary, ['-db', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] }), layout);
    const deadline = Date.now() + 5000;
    for (;;) {
      if (haproxy.child.exitCode !== null || haproxy.child.signalCode !== null) {
        throw new Error(`haproxy exited (${haproxy.child.exitCode ?? haproxy.child.signalCode}): ${haproxy.output}`);
      }
      try {
        await haproxy.servers();
        return haproxy;
      } catch (error) {
        if (Date.now() > deadline) {
          await haproxy.stop();
          throw new Error(`haproxy's stats socket did not answer within 5 s (${(error as Error).message}): ${haproxy.output}`);
        }
        await delay(20);
      }
    }
  }

  /** Sends one command to the stats socket and returns its whole answer. */
  command(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(this.layout.statsSocket);
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (s: string) => (text += s));
      socket.once('error', reject);
      socket.once('close', () => resolve(text));
      socket.end(`${line}\n`);
    });
  }

  /** The backend's servers by name (rw1, …): `show stat` is CSV with a header naming its columns. */
  async servers(): Promise<Map<string, ServerState>> {
    const [header, ...rows] = (await this.command('show stat')).split('\n').filter((l) => l !== '');
    if (header === undefined || !header.startsWith('# ')) throw new Error(`unexpected show stat answer: ${header}`);
    const columns = header.slice(2).split(',');
    const at = (name: string) => columns.indexOf(name);
    const states = new Map<string, ServerState>();
    for (const row of rows) {
      const f = row.split(',');
      if (f[at('pxname')] !== 'ringwire' || f[at('svname')] === 'BACKEND') continue;
      states.set(f[at('svname')]!, { status: f[at('status')]!, checkStatus: f[at('check_status')]! });
    }
    return states;
  }

  /** Waits until `check` holds for the servers' states; fails naming the last states seen. */
  async waitForServers(check: (states: Map<string, ServerState>) => boolean, what: string, timeoutMs: number): Promise<number> {
    const start = Date.now();
    let states = new Map<string, ServerState>();
    while (Date.now() - start < timeoutMs) {
      states = await this.servers();
      if (check(states)) return Date.now() - start;
      await delay(20);
    }
    throw new Error(
      `haproxy: timed out after ${timeoutMs} ms waiting for ${what}; servers: ${JSON.stringify([...states])}; log: ${this.output}`,
    );
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const stopped = await Promise.race([this.exited.then(() => true), delay(2000).then(() => false)]);
    if (!stopped) this.child.kill('SIGKILL');
  }
}

/** Thrown for every request of a connection that closed before its answer came. */
export class ClosedError extends Error {}

interface Waiting {
  resolve(answer: Record<string, unknown>): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * An NDJSON JSON-RPC client over one TCP connection that keeps every answer it
 * could not match to a request it was waiting for (`stray`): through a balancer, an
 * answer meant for another connection or repeated would land there.
 */
export class LineClient {
  closed = false;
  readonly stray: string[] = [];
  private text = '';
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (s: string) => this.read(s));
    socket.on('error', () => {});
    // HAProxy passes a dead server's FIN on as a FIN: 'end' is the first sign, 'close' may follow later.
    socket.on('end', () => this.close());
    socket.on('close', () => this.close());
  }

  static open(port: number): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new LineClient(socket));
      });
    });
  }

  /** The client's own end of the connection, as HAProxy sees it. */
  get local(): { address: string; port: number } {
    return { address: this.socket.localAddress!, port: this.socket.localPort! };
  }

  /** Sends a request; resolves with its whole response (result or error), rejects with ClosedError or on timeout. */
  call(method: string, params?: unknown, timeoutMs = 3000): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(new ClosedError('connection closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`no answer to ${method} (id ${id}) within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      this.socket.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  }

  /** Like call(), for a result: an error response is an Error. */
  async result(method: string, params?: unknown): Promise<unknown> {
    const answer = await this.call(method, params);
    if ('error' in answer) throw new Error(`${method} answered an error: ${JSON.stringify(answer)}`);
    return answer.result;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private read(chunk: string): void {
    this.text += chunk;
    let nl: number;
    while ((nl = this.text.indexOf('\n')) >= 0) {
      const line = this.text.slice(0, nl);
      this.text = this.text.slice(nl + 1);
      let answer: Record<string, unknown>;
      try {
        answer = JSON.parse(line) as Record<string, unknown>;
      } catch {
        this.stray.push(line);
        continue;
      }
      const waiting = typeof answer.id === 'number' ? this.waiting.get(answer.id) : undefined;
      if (waiting === undefined || answer.jsonrpc !== '2.0') {
        this.stray.push(line);
        continue;
      }
      this.waiting.delete(answer.id as number);
      clearTimeout(waiting.timer);
      waiting.resolve(answer);
    }
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [id, waiting] of this.waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(new ClosedError(`connection closed before the answer to id ${id}`));
    }
    this.waiting.clear();
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

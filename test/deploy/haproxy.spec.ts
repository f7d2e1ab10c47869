/**
 * ringwire behind Debian's HAProxy (issue 14, "Many machines"): three real
 * `ringwire serve --proxy-protocol` processes balanced by HAProxy in TCP mode with
 * send-proxy-v2 and a JSON-RPC ping health check, as docs/DEPLOYMENT.md runs them.
 * Without haproxy the spec skips, unless CI is set: there a missing haproxy fails.
 */
import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cli, ensureBuilt, killAll, ringwire } from '../fixtures/cli.js';
import { removeTempDirs, tempDir } from '../helpers/socketPath.js';
import { within } from '../helpers/wait.js';

/** Until a TCP connect to 127.0.0.1:port is refused (at most 2 s). */
async function refused(port: number): Promise<void> {
  for (const deadline = Date.now() + 2000; Date.now() < deadline; await delay(10)) {
    const code = await new Promise<string | undefined>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code));
    });
    if (code === 'ECONNREFUSED') return;
  }
  throw new Error(`127.0.0.1:${port} still accepts 2 s after its server was killed`);
}

import { ClosedError, delay, findHaproxy, freePort, Haproxy, LineClient, type ServerState } from './haproxy.js';

const HAPROXY = findHaproxy();
const IN_CI = !['', '0', 'false', undefined].includes(process.env.CI);

interface Backend {
  readonly name: string;
  readonly cli: Cli;
  /** What `whoami` says as `listener` on this server: tells the servers apart. */
  readonly listener: string;
}

interface Whoami {
  listener: string;
  address: string;
  port: number;
  proxied?: { address: string; port: number };
}

describe('ringwire behind HAProxy (TCP mode, send-proxy-v2, JSON-RPC ping health check)', () => {
  if (HAPROXY === undefined && !IN_CI) {
    it('needs haproxy', (ctx) => ctx.skip('haproxy is not installed (apt-get install haproxy); with CI set this spec fails instead'));
    return;
  }

  let haproxy: Haproxy | undefined;
  let backends: Backend[] = [];
  const clients: LineClient[] = [];

  const open = async (): Promise<LineClient> => {
    const client = await LineClient.open(haproxy!.layout.frontendPort);
    clients.push(client);
    return client;
  };
  const whoami = async (client: LineClient) => (await client.result('whoami')) as Whoami;
  const allUp = (states: Map<string, ServerState>) =>
    backends.every((b) => states.get(b.name)?.status === 'UP' && states.get(b.name)?.checkStatus === 'L7OK');

  beforeAll(async () => {
    if (HAPROXY === undefined) {
      throw new Error('haproxy is not installed (looked in PATH, /usr/sbin, /usr/local/sbin) and CI is set: apt-get install haproxy');
    }
    await ensureBuilt();
    const dir = tempDir();
    backends = await Promise.all(
      [1, 2, 3].map(async (n) => {
        const cli = ringwire(['serve', '--tcp', '127.0.0.1:0', '--proxy-protocol'], dir);
        const [line] = await cli.lines(/listening on tcp:/);
        return { name: `rw${n}`, cli, listener: /listening on (tcp:\S+)/.exec(line!)![1]! };
      }),
    );
    const serverPorts = backends.map((b) => Number(b.listener.split(':').pop()));
    // The frontend port is chosen before HAProxy binds it: another process may take it meanwhile, so try again.
    for (let attempt = 1; haproxy === undefined; attempt++) {
      const layout = { frontendPort: await freePort(), serverPorts, statsSocket: `${dir}/haproxy.sock` };
      try {
        haproxy = await Haproxy.start(HAPROXY, dir, layout);
      } catch (error) {
        if (attempt === 3) throw error;
      }
    }
    // rise 1: one passing ping check each (L7OK) marks them UP; 3 s is generous at inter 200ms.
    await haproxy.waitForServers(allUp, 'rw1..rw3 UP with L7OK', 3000);
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) client.destroy();
    await haproxy?.stop();
    killAll();
    removeTempDirs();
  });

  it('whoami through HAProxy reports the client’s own address and port in proxied', async () => {
    for (let i = 0; i < 3; i++) {
      const client = await open();
      const me = await whoami(client);
      expect(me.proxied).toEqual(client.local);
      expect(backends.map((b) => b.listener)).toContain(me.listener);
      client.destroy();
    }
  });

  it('spreads connections and their requests over the three servers', async () => {
    const seen = new Map<string, number>();
    const batch: LineClient[] = [];
    for (let i = 0; i < 12; i++) {
      const client = await open();
      batch.push(client);
      const me = await whoami(client);
      seen.set(me.listener, (seen.get(me.listener) ?? 0) + 1);
      expect(await client.result('echo', [`spread-${i}`])).toBe(`spread-${i}`);
    }
    expect([...seen.keys()].sort()).toEqual(backends.map((b) => b.listener).sort());
    // leastconn over 12 connections held open: 4 each; allow for checks and late closes of the previous spec's clients.
    for (const [listener, count] of seen) expect(count, listener).toBeGreaterThanOrEqual(3);
    for (const client of batch) client.destroy();
  });

  it('a server killed mid-run: its connections close, the others answer every request right, new connections go to the survivors', async () => {
    const victim = backends[1]!;
    const survivors = backends.filter((b) => b !== victim).map((b) => b.listener);

    // Long-lived connections, each knowing which server it reached.
    const runners = await Promise.all(
      Array.from({ length: 9 }, async (_, n) => {
        const client = await open();
        return { n, client, listener: (await whoami(client)).listener, answered: 0, answeredAfterKill: 0, wrong: [] as string[] };
      }),
    );
    const onVictim = runners.filter((r) => r.listener === victim.listener);
    const onSurvivors = runners.filter((r) => r.listener !== victim.listener);
    expect(onVictim.length, 'connections on the server to be killed').toBeGreaterThanOrEqual(2);
    expect(onSurvivors.length, 'connections on the other servers').toBeGreaterThanOrEqual(4);

    let killedAt = 0;
    let stop = false;
    // Each connection keeps four requests in flight (echo, sum, a short sleep, whoami) and checks every answer.
    const run = async (r: (typeof runners)[number]): Promise<'stopped' | 'closed'> => {
      const deadline = Date.now() + 15_000;
      for (let i = 0; !stop && Date.now() < deadline; i++) {
        const tag = `c${r.n}-${i}`;
        const calls: Array<[Promise<unknown>, (value: unknown) => boolean]> = [
          [r.client.result('echo', [tag]), (v) => v === tag],
          [r.client.result('sum', [r.n, i, 1]), (v) => v === r.n + i + 1],
          [r.client.result('sleep', [1]), (v) => v === 1],
          [r.client.result('whoami'), (v) => (v as Whoami).listener === r.listener],
        ];
        const settled = await Promise.allSettled(calls.map(([call]) => call));
        let closed = false;
        settled.forEach((outcome, k) => {
          if (outcome.status === 'rejected') {
            if (outcome.reason instanceof ClosedError) closed = true;
            else r.wrong.push(`${tag}#${k}: ${(outcome.reason as Error).message}`);
          } else if (calls[k]![1](outcome.value)) {
            r.answered++;
            if (killedAt > 0) r.answeredAfterKill++;
          } else {
            r.wrong.push(`${tag}#${k}: ${JSON.stringify(outcome.value)}`);
          }
        });
        if (closed) return 'closed';
      }
      return 'stopped';
    };
    const outcomes = runners.map(run);
    try {
      await delay(300);
      for (const r of runners) expect(r.answered, `connection ${r.n} before the kill`).toBeGreaterThan(0);
      killedAt = Date.now();
      victim.cli.child.kill('SIGKILL');
      // Until the kernel has torn the process down its listening socket still completes connects; after, it refuses them.
      await within(victim.cli.exited, 'the killed server to exit', 2000);
      // With io_uring the kernel frees the dead process's listening socket only when it
      // has cancelled that process's ring requests, a moment after the exit (its
      // multishot accept holds the socket). Until then connects complete and are closed
      // unanswered, which HAProxy cannot redispatch. Wait for the refusal (docs/IO_URING.md).
      await refused(Number(victim.listener.split(':').pop()));

      // Connections opened before HAProxy has noticed: a refused connect is retried on another server (option redispatch).
      const early = await Promise.all(Array.from({ length: 3 }, async () => (await whoami(await open())).listener));
      for (const listener of early) expect(survivors).toContain(listener);

      await haproxy!.waitForServers((s) => s.get(victim.name)?.status === 'DOWN', `${victim.name} DOWN`, 5000);
      expect(Date.now() - killedAt, 'ms from SIGKILL to DOWN').toBeLessThan(5000);
      const states = await haproxy!.servers();
      for (const b of backends) if (b !== victim) expect(states.get(b.name)?.status, b.name).toBe('UP');

      const late: string[] = [];
      for (let i = 0; i < 8; i++) {
        const client = await open();
        late.push((await whoami(client)).listener);
        expect(await client.result('echo', [`late-${i}`])).toBe(`late-${i}`);
      }
      expect([...new Set(late)].sort()).toEqual([...survivors].sort());

      await delay(200);
    } finally {
      // A failed expectation above must not leave the connections' loops running until their deadline.
      stop = true;
    }
    const ended = await Promise.all(outcomes);

    const report = runners.map((r, i) => ({
      n: r.n,
      listener: r.listener,
      ended: ended[i],
      answered: r.answered,
      after: r.answeredAfterKill,
      wrong: r.wrong,
    }));
    for (const [i, r] of runners.entries()) {
      expect(r.wrong, `connection ${r.n}: ${JSON.stringify(report)}`).toEqual([]);
      expect(r.client.stray, `connection ${r.n}: answers matching no request`).toEqual([]);
      if (r.listener === victim.listener) {
        expect(ended[i], `connection ${r.n} on the killed server`).toBe('closed');
      } else {
        expect(ended[i], `connection ${r.n} on ${r.listener}`).toBe('stopped');
        expect(r.answeredAfterKill, `connection ${r.n} kept being answered after the kill`).toBeGreaterThan(0);
      }
    }
  });
});

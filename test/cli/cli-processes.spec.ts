import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RpcClient as Client } from '../../src/client/client.js';
import { connect } from '../../src/client/connect.js';
import { type Cli, ensureBuilt, killAll, launch, RINGWIRE_BIN, ROOT, ringwire } from '../fixtures/cli.js';
import { delay, transports } from '../fixtures/harness.js';
import { promtoolCheck, sample, scrape } from '../helpers/prometheus.js';
import { tempDir } from '../helpers/socketPath.js';

const HANDLERS = join(ROOT, 'test', 'fixtures', 'processHandlers.mjs');

beforeAll(ensureBuilt, 180_000);
afterEach(killAll);

interface Started {
  readonly cli: Cli;
  readonly socket: string;
  readonly tcp: string;
  readonly pids: number[];
}

/** `ringwire serve --processes N` on a Unix socket and a free TCP port, once every process listens. */
async function startProcesses(transport: string, processes: number, extra: string[] = []): Promise<Started> {
  const dir = tempDir();
  const socket = join(dir, 'p.sock');
  const args = ['serve', '--processes', String(processes), '--transport', transport, '--handlers', HANDLERS];
  const cli = ringwire([...args, '--unix', socket, '--tcp', '127.0.0.1:0', ...extra], dir);
  const [line] = await cli.lines(/^ringwire: processes /);
  const pids = line!.replace('ringwire: processes ', '').split(', ').map(Number);
  const [tcpLine] = await cli.lines(/^ringwire: listening on tcp:/);
  expect(tcpLine).toContain(`(${transport}, ${processes} processes)`);
  return { cli, socket, tcp: `127.0.0.1:${/:(\d+) /.exec(tcpLine!)![1]}`, pids };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function connectMany(target: string, count: number): Promise<Client[]> {
  return Promise.all(Array.from({ length: count }, () => connect(target)));
}

async function closeAll(clients: readonly Client[]): Promise<void> {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
}

describe.each(transports())('ringwire serve --processes (%s)', (transport) => {
  it('shares every listener among the processes: TCP connections reach both, Unix ones are all answered', async () => {
    const { cli, socket, tcp, pids } = await startProcesses(transport, 2, ['--socket-mode', '660']);
    expect(pids).toHaveLength(2);
    // The primary binds the Unix socket: --socket-mode is its to apply.
    expect(statSync(socket).mode & 0o777).toBe(0o660);
    // Rounds of 40 until both answered: node:net on Node 20 shares one socket, where
    // every process is woken and a busy machine can hand one of them a whole round.
    const overTcp: Awaited<ReturnType<typeof connectMany>> = [];
    const tcpPids = new Set<number>();
    for (let round = 0; round < 10 && tcpPids.size < 2; round++) {
      const more = await connectMany(tcp, 40);
      for (const pid of await Promise.all(more.map((c) => c.call('pid') as Promise<number>))) tcpPids.add(pid);
      overTcp.push(...more);
    }
    expect(tcpPids).toEqual(new Set(pids));
    const overUnix = await connectMany(socket, 20);
    for (const answer of await Promise.all(overUnix.map((c) => c.call('pid') as Promise<number>))) expect(pids).toContain(answer);
    await closeAll([...overTcp, ...overUnix]);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });

  it.runIf(transport === 'native')(
    'takes turns on a shared Unix socket: connections opened one at a time go to every process',
    async () => {
      const { socket, pids } = await startProcesses(transport, 2);
      const clients: Client[] = [];
      const owners = new Map<number, number>();
      for (let i = 0; i < 20; i++) {
        const client = await connect(socket);
        const pid = (await client.call('pid')) as number;
        owners.set(pid, (owners.get(pid) ?? 0) + 1);
        clients.push(client);
      }
      // The process just woken goes to the back of the queue (accept_waiter.h): strict turns when idle.
      for (const pid of pids) expect(owners.get(pid) ?? 0).toBeGreaterThanOrEqual(5);
      await closeAll(clients);
    },
  );

  it('starts a killed process again; the other process and its connections are not touched', async () => {
    const { cli, tcp, pids } = await startProcesses(transport, 2);
    const clients = await connectMany(tcp, 24);
    const served = await Promise.all(clients.map((c) => c.call('pid') as Promise<number>));
    const [victim] = pids;
    process.kill(victim!, 'SIGKILL');
    const restarted = await cli.lines(/process 0 started again \(pid \d+\)/);
    const newPid = Number(/pid (\d+)/.exec(restarted[0]!)![1]);
    expect(newPid).not.toBe(victim);
    // Connections on the survivor answer every request, correctly.
    const survivors = clients.filter((_, i) => served[i] !== victim);
    expect(survivors.length).toBeGreaterThan(0);
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(survivors.map((c, i) => c.call('echo', [`${round}:${i}`])));
      expect(answers).toEqual(survivors.map((_, i) => `${round}:${i}`));
    }
    // Connections of the dead process fail; none gets an answer.
    const lost = clients.filter((_, i) => served[i] === victim);
    for (const c of lost) await expect(c.call('echo', ['x'])).rejects.toThrow();
    // New connections reach both processes again, the new one included.
    const fresh = await connectMany(tcp, 40);
    const freshPids = new Set(await Promise.all(fresh.map((c) => c.call('pid') as Promise<number>)));
    expect(freshPids).toEqual(new Set([newPid, pids[1]]));
    expect(cli.stderr).toMatch(/process 0 \(pid \d+\) ended \(SIGKILL\); starting it again in \d+ ms/);
    await closeAll([...clients, ...fresh]);
  });

  it('drains every process on SIGTERM: in-flight requests on each are answered, the socket file goes, exit 0', async () => {
    const { cli, socket, tcp, pids } = await startProcesses(transport, 2);
    const clients = await connectMany(tcp, 16);
    const owners = await Promise.all(clients.map((c) => c.call('pid') as Promise<number>));
    expect(new Set(owners)).toEqual(new Set(pids));
    const slow = Promise.all(clients.map((c, i) => c.call('sleep', [300 + i])));
    await delay(80);
    cli.child.kill('SIGTERM');
    expect(await slow).toEqual(clients.map((_, i) => 300 + i));
    expect(await cli.exited).toBe(0);
    expect(existsSync(socket)).toBe(false);
    expect(cli.stdout).toContain('SIGTERM: draining 2 processes');
    await closeAll(clients);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s to the whole process group (Ctrl-C, systemd) drains once: in-flight requests answered, exit 0',
    async (signal) => {
      const dir = tempDir();
      const args = ['serve', '--processes', '2', '--transport', transport, '--handlers', HANDLERS, '--tcp', '127.0.0.1:0'];
      const cli = launch(process.execPath, [RINGWIRE_BIN, ...args], { cwd: dir, detached: true });
      await cli.lines(/^ringwire: processes /);
      const [tcpLine] = await cli.lines(/^ringwire: listening on tcp:/);
      const clients = await connectMany(`127.0.0.1:${/:(\d+) /.exec(tcpLine!)![1]}`, 12);
      const slow = Promise.all(clients.map((c, i) => c.call('sleep', [400 + i])));
      await delay(100);
      process.kill(-cli.child.pid!, signal);
      expect(await slow).toEqual(clients.map((_, i) => 400 + i));
      expect(await cli.exited).toBe(0);
      expect(cli.stderr).not.toMatch(/again, stopping at once/);
      await closeAll(clients);
    },
  );

  it('answers rpc.stats for the whole server: totals and each process', async () => {
    const { tcp, pids } = await startProcesses(transport, 2, ['--expose-stats']);
    const clients = await connectMany(tcp, 20);
    await Promise.all(clients.map((c) => c.call('pid')));
    const stats = (await clients[0]!.call('rpc.stats')) as {
      connections: { total: number; open: number };
      processes: Array<{ index: number; pid: number; restarts: number; connections: { total: number } }>;
    };
    expect(stats.processes.map((p) => p.pid).sort()).toEqual([...pids].sort());
    expect(stats.connections.open).toBe(20);
    expect(stats.connections.total).toBe(stats.processes.reduce((n, p) => n + p.connections.total, 0));
    await closeAll(clients);
  });

  it('serves one /metrics for the whole server, adding up every process, valid for promtool', async () => {
    const { cli, tcp, pids } = await startProcesses(transport, 2, ['--metrics', '127.0.0.1:0']);
    const [line] = await cli.lines(/^ringwire: metrics on /);
    const url = line!.slice('ringwire: metrics on '.length);
    const clients = await connectMany(tcp, 20);
    const served = await Promise.all(clients.map((c) => c.call('pid') as Promise<number>));
    expect(new Set(served)).toEqual(new Set(pids));
    const { status, body } = await scrape(url);
    expect(status).toBe(200);
    expect(sample(body, 'ringwire_processes')).toBe(2);
    expect(sample(body, `ringwire_connections_open{listener="tcp:${tcp}"}`)).toBe(20);
    expect(sample(body, 'ringwire_requests_total{protocol="jsonrpc",outcome="ok"}')).toBe(20);
    const verdict = promtoolCheck(body);
    expect(verdict.output).toBe('');
    expect(verdict.status).toBe(0);
    await closeAll(clients);
  });

  it('refuses a TCP port another server holds, even one that shares it with SO_REUSEPORT', async () => {
    const first = await startProcesses(transport, 2);
    const dir = tempDir();
    const second = ringwire(['serve', '--processes', '2', '--transport', transport, '--tcp', first.tcp], dir);
    expect(await second.exited).toBe(1);
    expect(second.stderr).toMatch(/already in use/);
    // The first server still has every connection to itself.
    const clients = await connectMany(first.tcp, 10);
    for (const pid of await Promise.all(clients.map((c) => c.call('pid') as Promise<number>))) expect(first.pids).toContain(pid);
    await closeAll(clients);
  });

  it('a signal while the processes start stops the server once they have, leaving nothing behind', async () => {
    const dir = tempDir();
    const socket = join(dir, 'early.sock');
    const cli = ringwire(['serve', '--processes', '2', '--transport', transport, '--unix', socket], dir);
    // The primary binds the socket before it starts the processes: signal it then.
    for (let i = 0; i < 200 && !existsSync(socket); i++) await delay(10);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(cli.stdout).toMatch(/SIGTERM: stopping once the processes have started/);
    expect(existsSync(socket)).toBe(false);
    const pids = (/processes ([\d, ]+)/.exec(cli.stdout)?.[1] ?? '').split(', ').filter(Boolean).map(Number);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });

  it('its processes drain and exit when the primary is killed', async () => {
    const { cli, pids } = await startProcesses(transport, 2);
    cli.child.kill('SIGKILL');
    for (let i = 0; i < 100 && pids.some(alive); i++) await delay(50);
    expect(pids.filter(alive)).toEqual([]);
  });

  it('fails at once, naming the cause, when the processes cannot start; nothing is left listening', async () => {
    const dir = tempDir();
    const socket = join(dir, 'p.sock');
    const cli = ringwire(
      ['serve', '--processes', '2', '--transport', transport, '--handlers', join(dir, 'missing.mjs'), '--unix', socket],
      dir,
    );
    expect(await cli.exited).toBe(1);
    expect(cli.stderr).toMatch(/missing\.mjs/);
    expect(cli.stderr).toMatch(/process \d \(pid \d+\) ended before it listened/);
    expect(existsSync(socket)).toBe(false);
  });
});

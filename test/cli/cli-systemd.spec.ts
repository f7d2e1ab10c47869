import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/errors.js';
import { activatedSockets, sdNotify } from '../../src/cli/systemd.js';
import { connect } from '../../src/client/connect.js';
import { type Cli, ensureBuilt, killAll, launch, RINGWIRE_BIN } from '../fixtures/cli.js';
import { delay, transports } from '../fixtures/harness.js';
import { tempDir } from '../helpers/socketPath.js';

function which(program: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const ACTIVATE = which('systemd-socket-activate');
const PYTHON = which('python3');
// CI must run this (the machine has both); a developer without them is told why it skipped.
const runIt = ACTIVATE !== undefined && PYTHON !== undefined ? it : process.env.CI ? it : it.skip;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** A Unix datagram socket standing in for systemd's NOTIFY_SOCKET: prints each datagram on a line. */
async function notifyReceiver(path: string): Promise<Cli> {
  const script = [
    'import socket, sys',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    's.bind(sys.argv[1])',
    'print("bound", flush=True)',
    's.settimeout(30)',
    'while True: print(s.recv(4096).decode(), flush=True)',
  ].join('\n');
  const receiver = launch(PYTHON ?? 'python3', ['-c', script, path]);
  await receiver.lines(/^bound$/);
  return receiver;
}

beforeAll(ensureBuilt, 180_000);
afterEach(killAll);

describe('activatedSockets (sd_listen_fds)', () => {
  it('takes LISTEN_FDS sockets from fd 3 when LISTEN_PID is this process, and clears the variables', () => {
    const env: NodeJS.ProcessEnv = { LISTEN_PID: '42', LISTEN_FDS: '2', LISTEN_FDNAMES: 'a:b' };
    expect(activatedSockets(env, 42)).toEqual([{ fd: 3 }, { fd: 4 }]);
    expect(env).toEqual({});
  });

  it('leaves sockets meant for another process alone', () => {
    const env: NodeJS.ProcessEnv = { LISTEN_PID: '41', LISTEN_FDS: '1' };
    expect(activatedSockets(env, 42)).toBeUndefined();
    expect(env.LISTEN_FDS).toBe('1');
    expect(activatedSockets({}, 42)).toBeUndefined();
    // sd_listen_fds(3) takes none without LISTEN_PID.
    expect(activatedSockets({ LISTEN_FDS: '1' }, 42)).toBeUndefined();
  });

  it('refuses a LISTEN_FDS that is not a count', () => {
    expect(() => activatedSockets({ LISTEN_PID: '42', LISTEN_FDS: 'three' }, 42)).toThrow(UsageError);
  });

  it('says why a notification could not be sent, and sends nothing without NOTIFY_SOCKET', () => {
    expect(sdNotify({}, 'READY=1')).toBeUndefined();
    expect(sdNotify({ NOTIFY_SOCKET: join(tempDir(), 'nobody.sock') }, 'READY=1')).toMatch(
      /cannot notify systemd \(READY=1\): .*No such file/,
    );
  });
});

describe.each(transports())('ringwire serve under systemd-socket-activate (%s)', (transport) => {
  runIt(
    'adopts the passed Unix and TCP sockets, answers the connection that started it, notifies READY=1 and STOPPING=1',
    async () => {
      expect(ACTIVATE, 'systemd-socket-activate (Debian package systemd) is needed').toBeDefined();
      expect(PYTHON, 'python3 is needed for the NOTIFY_SOCKET stand-in').toBeDefined();
      const dir = tempDir();
      const socket = join(dir, 'act.sock');
      const notify = join(dir, 'notify.sock');
      const port = await freePort();
      const receiver = await notifyReceiver(notify);
      const args = [
        '-l',
        socket,
        '-l',
        `127.0.0.1:${port}`,
        '-E',
        'NOTIFY_SOCKET',
        process.execPath,
        RINGWIRE_BIN,
        'serve',
        '--transport',
        transport,
      ];
      const cli = launch(ACTIVATE!, args, { cwd: dir, env: { ...process.env, NOTIFY_SOCKET: notify } });
      for (let i = 0; i < 200 && !cli.stderr.includes(`127.0.0.1:${port}`); i++) await delay(20);
      // systemd-socket-activate starts the service on the first connection: that one must be answered.
      const first = await connect(socket);
      expect(await first.call('whoami')).toMatchObject({ listener: `unix:${socket}`, family: 'unix' });
      await cli.lines(new RegExp(`listening on tcp:127\\.0\\.0\\.1:${port} \\(${transport}\\)`));
      await cli.lines(/the listeners are sockets systemd passed/);
      const overTcp = await connect(`127.0.0.1:${port}`);
      expect(await overTcp.call('echo', ['through systemd'])).toBe('through systemd');
      await receiver.lines(/^READY=1$/);
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toBe(0);
      await receiver.lines(/^STOPPING=1$/);
      // The socket file is systemd's: the service must not remove it.
      expect(existsSync(socket)).toBe(true);
      await Promise.all([first.close(), overTcp.close()]);
    },
    20_000,
  );
});

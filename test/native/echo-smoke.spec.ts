import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listen } from '../../src/transport/listen.js';
import { nativeLoadError } from '../../src/transport/native.js';
import type { TransportServer } from '../../src/transport/types.js';

describe.skipIf(nativeLoadError() !== undefined)('native transport: a batch per loop turn', () => {
  let server: TransportServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('echoes over TCP and reports open, data, end in order', async () => {
    server = await listen({ transport: 'native', listen: [{ port: 0 }] });
    const seen: string[] = [];
    server.slices$.subscribe((r) => {
      seen.push(r.type);
      if (r.type === 'data') r.connection.write(r.bytes);
      if (r.type === 'end') r.connection.end();
    });
    const port = server.listeners[0]!.port;
    const reply = await new Promise<string>((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('end', () => resolve(got));
      s.on('error', reject);
      s.end('hello ringwire');
    });
    expect(reply).toBe('hello ringwire');
    expect(seen[0]).toBe('open');
    expect(seen.at(-1)).toBe('end');
    expect(seen.filter((t) => t === 'data').length).toBeGreaterThan(0);
  });
});

/**
 * Results of every size are answered whole on every framing. Results past the
 * encoders' hand-written sizes go through Node's UTF-8 writer, whose bounds check
 * differs between Node 20 and Node 22/24: on 24 a 5,000-character echo was once
 * answered -32603 on NDJSON connections. CI runs this on all three.
 */
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/client/connect.js';
import { matrix, CLIENT_PROTOCOLS as protocols, startServer, useCleanup } from '../fixtures/harness.js';

useCleanup();

// Each side of the encoders' boundaries: hand-copied text (24 units), the slab's
// item size (8 KiB) in ASCII and in 2- and 3-byte characters, and past it.
const sizes = [24, 25, 2_700, 2_800, 5_000, 8_200, 100_000];
const alphabets = ['x', 'é', '€', '😀'];

describe.each(matrix())('large results (%s, %s)', (transport, kind) => {
  it.each(protocols)('echoes strings of every size and alphabet over %s %j', async (protocol, extra) => {
    const { target } = await startServer(transport, kind);
    const client = await connect(target, { protocol, ...extra });
    try {
      for (const size of sizes) {
        for (const unit of alphabets) {
          const text = unit.repeat(Math.ceil(size / unit.length));
          expect(await client.call('echo', [text])).toBe(text);
        }
      }
      const list = Array.from({ length: 3000 }, (_, i) => `item ${i} ✓`);
      expect(await client.call('echo', [list])).toEqual(list);
      expect(await client.call('stream', [2000])).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    } finally {
      await client.close();
    }
  });
});

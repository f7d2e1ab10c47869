/**
 * The msgpackr instances every MCP1 codec shares, configured for untrusted input.
 * @module
 */
import { Packr, RESERVE_START_SPACE, Unpackr } from 'msgpackr';
import { isSafeMsgpack, sawProto } from './msgpackCheck.js';
import { decodeFast, NOT_FAST } from './msgpackFast.js';

const unpackr = new Unpackr({
  // Plain objects for maps; msgpackr renames a `__proto__` key to `__proto_`, so no
  // decoded map can reach a prototype.
  useRecords: false,
  mapsAsObjects: true,
  // Bytes the transport hands us are a view into its read buffer, reused after the
  // emission; a `bin` value must not alias it.
  copyBuffers: true,
  // Numbers where they are exact, BigInt only past 2^53. msgpackr 1.12 implements
  // 'auto' though its typings list only the other three.
  int64AsType: 'auto' as 'number',
});

const packr = new Packr({
  useRecords: false,
  // PROTOCOL.md 3: nil where the handler returned nothing (msgpackr's default is an
  // extension type other decoders do not know).
  encodeUndefinedAsNil: true,
  // fixmap for small maps, as other MessagePack encoders write them.
  variableMapSize: true,
});

/** Decodes one MessagePack value; throws on anything {@link isSafeMsgpack} rejects or msgpackr cannot read. */
export function decodeMsgpack(bytes: Uint8Array): unknown {
  // Most requests are small maps of ASCII keys and plain values: decoded by hand,
  // checked as they are read. The rest go through the walker and msgpackr.
  const fast = decodeFast(bytes);
  if (fast !== NOT_FAST) return fast;
  if (!isSafeMsgpack(bytes)) throw new TypeError('unsafe or malformed MessagePack');
  // msgpackr renames a `__proto__` key to `__proto_`: safe, but an MCP1 handler would
  // then see other params than a JSON-RPC one. The rare payload that holds the name
  // is decoded with maps as Maps and rebuilt the way JSON.parse builds objects.
  if (sawProto) return plain(mapUnpackr.unpack(bytes));
  return unpackr.unpack(bytes);
}

/** Same settings as `unpackr`, but maps come back as Maps, keys untouched. */
const mapUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, copyBuffers: true, int64AsType: 'auto' as 'number' });

/**
 * Maps to plain objects with own data properties (defineProperty, as JSON.parse's
 * CreateDataProperty): a `__proto__` key becomes an own property and reaches no
 * prototype. Arrays are converted in place. Depth is bounded by isSafeMsgpack (512)
 * here; the specs use it on msgpackr's own output too.
 */
export function plain(value: unknown): unknown {
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [key, v] of value) {
      Object.defineProperty(out, String(key), { value: plain(v), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = plain(value[i]);
  }
  return value;
}

/**
 * Packs `value` after `headerBytes` reserved bytes, in one buffer: msgpackr packs
 * into its own slab and returns a view of it, so header and payload cost no
 * allocation of ours. The view stays valid (msgpackr never writes over what it
 * returned; it moves to a new slab when one fills). Throws on values MessagePack
 * cannot hold (BigInt past 64 bits, symbols, functions, cycles).
 */
export function packAfter(headerBytes: number, value: unknown): Uint8Array {
  return packr.pack(value, RESERVE_START_SPACE | headerBytes);
}

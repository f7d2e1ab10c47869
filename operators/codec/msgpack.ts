/**
 * The msgpackr instances every MCP1 codec shares, configured for untrusted input.
 * @module
 */
import { Packr, RESERVE_START_SPACE, Unpackr } from 'msgpackr';
import { isSafeMsgpack } from './msgpackCheck.js';

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
  if (!isSafeMsgpack(bytes)) throw new TypeError('unsafe or malformed MessagePack');
  return unpackr.unpack(bytes);
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

import { nodeZlib } from '../node-builtins.js';

/**
 * One gzip member (RFC 1952) made of deflate segments that were compressed on their own: each
 * ends with a full flush, so that none refers back to another, and a segment compressed for an
 * earlier answer can go into this one as it is. One header and one trailer go around them; the
 * trailer's CRC-32 is combined from the segments' own CRCs, as pigz does.
 *
 * Why one member and not one member per segment: Prometheus reads concatenated members, but
 * `curl --compressed` shows only the first, so a user debugging with curl would see part of the
 * metrics. One member made this way is read whole by curl, gunzip and Prometheus
 * (test/integration/gzip-segments.test.ts).
 */

/** A compressed segment: raw deflate ending in a full flush (no final block), with the CRC-32 and length of its text. */
export interface Segment {
  deflated: Uint8Array;
  crc: number;
  length: number;
}

/** Fastest level: a segment is compressed once and then reused, but a changed block is compressed on the scrape that sees it. */
const LEVEL = 1;

/** ID1 ID2, CM deflate, no flags, no mtime, XFL 0, OS unknown. */
export const GZIP_HEADER = Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff);

/** A final fixed-Huffman block holding nothing but its end code: it ends the deflate stream. */
const FINAL_EMPTY_BLOCK = Uint8Array.of(0x03, 0x00);

/** Compresses `text` into a segment that any other segment may precede or follow. */
export function compressSegment(text: Uint8Array): Segment {
  const zlib = nodeZlib();
  const deflated = zlib.deflateRawSync(text, { level: LEVEL, memLevel: 9, finishFlush: zlib.constants.Z_FULL_FLUSH });
  return {
    // Copied to its own size: zlib's output lies in a buffer of its chunk size, which a kept
    // segment of a few hundred bytes would otherwise hold whole.
    deflated: new Uint8Array(deflated),
    crc: zlib.crc32(text),
    length: text.length,
  };
}

/** The trailer after the last segment: the final block, then the CRC-32 and length (mod 2^32) of the whole text, little-endian. */
export function gzipTrailer(crc: number, length: number): Uint8Array {
  const out = Buffer.alloc(FINAL_EMPTY_BLOCK.length + 8);
  out.set(FINAL_EMPTY_BLOCK, 0);
  out.writeUInt32LE(crc >>> 0, 2);
  out.writeUInt32LE(length % 2 ** 32, 6);
  return out;
}

/**
 * CRC-32 arithmetic as zlib's crc32_combine does it: a CRC is a polynomial over GF(2) (bit-reflected,
 * so x^0 is the top bit); appending n bytes multiplies the first CRC by x^(8n) modulo the
 * generator, and the second CRC is added (xor).
 */
const POLY = 0xedb88320;
const X0 = 0x80000000;

/** a(x) * b(x) modulo the CRC-32 polynomial. */
function multModP(a: number, b: number): number {
  let m = X0;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^k) modulo the polynomial, for k = 0..31. */
const X2N = (() => {
  const table = new Array<number>(32);
  let p = X0 >>> 1; // x^1
  table[0] = p;
  for (let k = 1; k < 32; k++) table[k] = p = multModP(p, p);
  return table;
})();

/** x^(n * 2^k) modulo the polynomial. */
function x2nModP(n: number, k: number): number {
  let p = X0;
  while (n > 0) {
    if (n % 2 === 1) p = multModP(X2N[k & 31]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/** The CRC-32 of A followed by B, from A's CRC, B's CRC and B's length. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB === 0) return crcA >>> 0;
  return (multModP(x2nModP(lengthB, 3), crcA >>> 0) ^ crcB) >>> 0;
}

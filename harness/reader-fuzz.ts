import assert from 'node:assert/strict';

/** Bytes a one-byte change puts in: JSON's own punctuation, digits and letters, a control character and bytes beyond ASCII. */
const REPLACEMENTS = [...'{}[]",:0123456789-+.eEZT tfnrlu\\\n'].map((c) => c.charCodeAt(0)).concat(0x00, 0xc3, 0xff);

/**
 * Feeds a fast page reader every prefix of `body` and, at every `step`th byte, every change of
 * that byte to one of REPLACEMENTS: each time it must either give up (undefined) or give what
 * `checked` (JSON.parse and the checked parser) gives, never accept what `checked` refuses.
 * Returns how often each happened.
 */
export function prefixesAndByteChanges<T>(
  body: Buffer,
  step: number,
  fast: (body: Buffer) => T | undefined,
  checked: (body: Buffer) => T,
): { agreed: number; gaveUp: number } {
  let agreed = 0;
  let gaveUp = 0;
  const check = (variant: Buffer, what: string) => {
    const read = fast(variant);
    if (read === undefined) {
      gaveUp++;
      return;
    }
    let slow;
    try {
      slow = checked(variant);
    } catch (err) {
      assert.fail(`${what}: the reader accepted what the checked parser refuses (${(err as Error).message})`);
    }
    assert.deepEqual(read, slow, what);
    agreed++;
  };
  for (let end = 0; end < body.length; end++) check(body.subarray(0, end), `prefix of ${end} bytes`);
  for (let at = 0; at < body.length; at += step) {
    for (const byte of REPLACEMENTS) {
      if (body[at] === byte) continue;
      const variant = Buffer.from(body);
      variant[at] = byte;
      check(variant, `byte ${at} set to 0x${byte.toString(16)}`);
    }
  }
  return { agreed, gaveUp };
}

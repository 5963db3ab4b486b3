import { isUtf8 } from 'buffer';
import { InvalidArgumentError } from '../errors';

/** Any UTF-16 surrogate: a name without one needs no conversion at all. */
const SURROGATE = /[\ud800-\udfff]/;

/** Whether a name string carries escaped bytes (or other lone surrogates) and so needs nameBytes to reach the fs. */
export function hasEscapes(name: string): boolean {
  return SURROGATE.test(name) && hasLoneSurrogate(name);
}

function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u < 0xd800 || u > 0xdfff) continue;
    if (u <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      i++; // a pair: one code point above FFFF
      continue;
    }
    return true;
  }
  return false;
}

/** How many bytes the valid UTF-8 sequence at `b[i]` takes, or 0 when it is not one (RFC 3629: no overlongs, no surrogates, nothing past 10FFFF). */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k] >= lo && b[i + k] <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** The name string of raw name bytes: UTF-8 decoded, each byte of an invalid sequence as U+DC80..U+DCFF. */
export function nameOfBytes(b: Uint8Array): string {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (isUtf8(buf)) return buf.toString('utf8');
  let out = '';
  let run = 0; // start of the current run of valid sequences
  for (let i = 0; i < buf.length; ) {
    const n = sequenceLength(buf, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += buf.toString('utf8', run, i) + String.fromCharCode(0xdc00 + buf[i]);
    run = ++i;
  }
  return out + buf.toString('utf8', run);
}

/** The exact bytes a name string stands for (the inverse of nameOfBytes). */
export function nameBytes(name: string): Buffer {
  if (!SURROGATE.test(name)) return Buffer.from(name, 'utf8');
  const parts: Buffer[] = [];
  let run = 0;
  for (let i = 0; i < name.length; i++) {
    const u = name.charCodeAt(i);
    if (u < 0xd800 || u > 0xdfff) continue;
    if (u <= 0xdbff && i + 1 < name.length && (name.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      i++;
      continue;
    }
    if (u < 0xdc80 || u > 0xdcff) {
      throw new InvalidArgumentError(`the name ${JSON.stringify(name)} holds the lone surrogate \\u${u.toString(16)}, which stands for no byte`);
    }
    parts.push(Buffer.from(name.slice(run, i), 'utf8'), Buffer.of(u - 0xdc00));
    run = i + 1;
  }
  parts.push(Buffer.from(name.slice(run), 'utf8'));
  return Buffer.concat(parts);
}

/**
 * What an fs call (or the addon) must be given for a name or path string: the string itself
 * when it has no escaped byte (the common case costs one regex test), else its exact bytes.
 */
export function fsPath(name: string): string | Buffer {
  return hasEscapes(name) ? nameBytes(name) : name;
}

/** fsPath for a path that may already be bytes. */
export function fsArg(p: string | Buffer): string | Buffer {
  return typeof p === 'string' ? fsPath(p) : p;
}

/** A name for messages and text output: escaped bytes shown as `\xNN` (JSON keeps them as `\udcNN`). */
export function printable(name: string): string {
  if (!hasEscapes(name)) return name;
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const u = name.charCodeAt(i);
    if (u >= 0xdc80 && u <= 0xdcff && !(i > 0 && (name.charCodeAt(i - 1) & 0xfc00) === 0xd800)) out += '\\x' + (u - 0xdc00).toString(16);
    else out += name[i];
  }
  return out;
}

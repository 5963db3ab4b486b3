import type { ReportPath } from './types';

/**
 * A path as a JavaScript string: a string as it is; bytes decoded as UTF-8, each byte that is
 * not part of valid UTF-8 kept as the lone surrogate U+DC00+byte (U+DC80..U+DCFF), the
 * convention for byte-exact names. JSON.stringify writes lone surrogates as \udcXX escapes,
 * so the embedded data keeps them.
 */
export function pathText(p: ReportPath): string {
  if (typeof p === 'string') return p;
  let out = '';
  let i = 0;
  while (i < p.length) {
    const b = p[i];
    const n = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (n === 1) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    let cp = n === 2 ? b & 0x1f : n === 3 ? b & 0x0f : b & 0x07;
    let ok = n > 0 && i + n <= p.length;
    for (let k = 1; ok && k < n; k++) {
      const c = p[i + k];
      if ((c & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (c & 0x3f);
    }
    // overlong forms, surrogates and code points past U+10FFFF are not valid UTF-8
    if (ok && ((n === 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n === 4 && (cp < 0x10000 || cp > 0x10ffff)))) ok = false;
    if (ok) {
      out += String.fromCodePoint(cp);
      i += n;
    } else {
      out += String.fromCharCode(0xdc00 + b);
      i++;
    }
  }
  return out;
}

/** Lone surrogates and control characters: what cannot be shown (or written as UTF-8) as it is. */
const UNSHOWABLE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|[\u0000-\u001f\u007f]/g;

/**
 * A name as the page shows it: a byte kept as a lone surrogate is shown as \xHH, any other lone
 * surrogate as \u{HHHH}, a control character as \xHH. The page's script does the same.
 */
export function shownText(s: string): string {
  return s.replace(UNSHOWABLE, (c) => {
    const u = c.charCodeAt(0);
    if (u >= 0xdc80 && u <= 0xdcff) return '\\x' + (u - 0xdc00).toString(16).padStart(2, '0');
    if (u >= 0xd800) return '\\u{' + u.toString(16) + '}';
    return '\\x' + u.toString(16).padStart(2, '0');
  });
}

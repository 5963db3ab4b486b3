import { nameOfBytes } from '../names';
import type { ReportPath } from './types';

/**
 * A path as a JavaScript string: a string as it is (invalid bytes already lone surrogates
 * U+DC80..U+DCFF, lib/names' form); bytes as lib/names decodes them. JSON.stringify writes lone
 * surrogates as \udcXX escapes, so the embedded data keeps them.
 */
export function pathText(p: ReportPath): string {
  return typeof p === 'string' ? p : nameOfBytes(p);
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

import { shownText } from './names';

/** Text for HTML content or a quoted attribute value, with unshowable characters written out. */
export function escapeHtml(s: string): string {
  return shownText(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON for a <script type="application/json"> element. No "<" may appear inside it (it could
 * close the element or open a comment), and JSON lets every one be written as \u003c; U+2028
 * and U+2029 are escaped too, so the text is also a valid JavaScript literal. JSON.stringify
 * writes lone surrogates as \udcXX escapes: the text is plain ASCII where names are not UTF-8.
 */
export function embedJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/**
 * WWW-Authenticate, as RFC 7235 writes it: one or more challenges, each a scheme and then either
 * a token68 or comma-separated `name=value` parameters, values a token or a quoted string
 * (backslash escapes). Several challenges share one header, separated by commas too, so a
 * comma followed by `word=` continues the parameters and a comma followed by `word` alone (or
 * `word token68`) starts the next challenge. Schemes and parameter names are case-insensitive.
 */

export interface Challenge {
  /** lower case: "bearer", "basic", ... */
  scheme: string;
  /** parameter names in lower case */
  params: Record<string, string>;
  token68?: string;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const T68CHAR = /[A-Za-z0-9\-._~+/]/;

/** The challenges of a header (or of several headers joined with ", "); [] for nothing parseable. Never throws. */
export function parseChallenges(header: string | undefined): Challenge[] {
  if (!header) return [];
  const s = header;
  let i = 0;
  const out: Challenge[] = [];
  const ws = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < s.length && TCHAR.test(s[i])) i++;
    return s.slice(start, i);
  };
  const quoted = (): string | null => {
    // at the opening quote
    let v = '';
    for (i++; i < s.length; i++) {
      if (s[i] === '\\' && i + 1 < s.length) v += s[++i];
      else if (s[i] === '"') {
        i++;
        return v;
      } else v += s[i];
    }
    return null; // unterminated
  };
  /** skips to after the next comma that is outside a quoted string (recovery from junk) */
  const skipItem = () => {
    while (i < s.length && s[i] !== ',') {
      if (s[i] === '"') quoted();
      else i++;
    }
  };
  /** at the start of an item: is it `name =` (a parameter)? Looks ahead without consuming. */
  const isParam = (): boolean => {
    const save = i;
    const name = token();
    ws();
    const yes = name !== '' && s[i] === '=' && !isToken68Tail(save);
    i = save;
    return yes;
  };
  /** `abc==` is a token68 with padding, not `abc` = "="... */
  const isToken68Tail = (from: number): boolean => {
    let j = from;
    while (j < s.length && T68CHAR.test(s[j])) j++;
    if (s[j] !== '=') return false;
    while (j < s.length && s[j] === '=') j++;
    while (j < s.length && (s[j] === ' ' || s[j] === '\t')) j++;
    return j >= s.length || s[j] === ',';
  };

  let current: Challenge | null = null;
  while (i < s.length) {
    ws();
    if (s[i] === ',') {
      i++;
      continue;
    }
    if (current && isParam()) {
      const name = token().toLowerCase();
      ws();
      i++; // '='
      ws();
      let value: string | null;
      if (s[i] === '"') value = quoted();
      else value = token();
      if (value === null) break;
      if (!(name in current.params)) current.params[name] = value;
      ws();
      if (i < s.length && s[i] !== ',') skipItem();
      continue;
    }
    const scheme = token();
    if (!scheme) {
      skipItem();
      continue;
    }
    current = { scheme: scheme.toLowerCase(), params: {} };
    out.push(current);
    ws();
    if (i >= s.length || s[i] === ',') continue;
    // a token68 right after the scheme, or the first parameter
    if (!isParam()) {
      const start = i;
      while (i < s.length && T68CHAR.test(s[i])) i++;
      while (i < s.length && s[i] === '=') i++;
      if (i > start) current.token68 = s.slice(start, i);
      ws();
      if (i < s.length && s[i] !== ',') skipItem();
    }
  }
  return out;
}

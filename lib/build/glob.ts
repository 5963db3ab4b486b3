import { InvalidArgumentError } from '../errors';

/**
 * Build patterns (`--include`, `--exclude`) as regular expressions over a relative path
 * ('dist/main.js', no leading './'). `*` and `?` match within one name, `**` as a whole
 * component any number of directories (none too), `[abc]` `[a-z]` `[!x]` `[^x]` one character
 * of a set, `{a,b}` one of the alternatives, `\` escapes the next character. Dotfiles are
 * matched like any name. Every name matches, whatever its bytes: a newline is a character like
 * another (the `s` flag), an escaped non-UTF-8 byte (lib/names) is one character.
 */
export function compileGlob(pattern: string): RegExp {
  const clean = pattern.replace(/^(\.\/)+/, '').replace(/^\/+/, '').replace(/\/+$/, '');
  if (clean === '' || clean === '.') throw new InvalidArgumentError(`the pattern ${JSON.stringify(pattern)} names the context itself: leave it out to take everything`);
  return new RegExp(`^${toRegex(clean, pattern)}$`, 's');
}

const SPECIAL = /[.+^$()|{}[\]\\*?]/;

function toRegex(p: string, whole: string): string {
  let out = '';
  let depth = 0; // inside {...}
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    const startOfName = i === 0 || p[i - 1] === '/';
    if (c === '*' && p[i + 1] === '*' && startOfName && (i + 2 === p.length || p[i + 2] === '/')) {
      // `**/` is any number of directories; a final `**` is anything below
      if (i + 2 === p.length) out += '.*';
      else out += '(?:[^/]*/)*';
      i += 2;
      continue;
    }
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\') {
      if (i + 1 === p.length) throw new InvalidArgumentError(`the pattern ${JSON.stringify(whole)} ends in a lone backslash`);
      out += escapeChar(p[++i]);
    } else if (c === '[') {
      const end = p.indexOf(']', i + 2);
      if (end < 0) throw new InvalidArgumentError(`the pattern ${JSON.stringify(whole)} has a "[" with no "]"`);
      let set = p.slice(i + 1, end);
      const negate = set[0] === '!' || set[0] === '^';
      if (negate) set = set.slice(1);
      out += `[${negate ? '^/' : ''}${set.replace(/[\\\]^]/g, (m) => '\\' + m)}]`;
      i = end;
    } else if (c === '{') {
      depth++;
      out += '(?:';
    } else if (c === '}' && depth > 0) {
      depth--;
      out += ')';
    } else if (c === ',' && depth > 0) out += '|';
    else out += escapeChar(c);
  }
  if (depth > 0) throw new InvalidArgumentError(`the pattern ${JSON.stringify(whole)} has a "{" with no "}"`);
  return out;
}

function escapeChar(c: string): string {
  return SPECIAL.test(c) ? '\\' + c : c;
}

/**
 * Token scopes as the distribution token spec writes them: `TYPE:NAME:ACTIONS`, e.g.
 * `repository:library/alpine:pull,push` (NAME may hold colons; ACTIONS follow the last one).
 * A scope set is kept merged: one entry per TYPE:NAME, its actions a sorted union, so two
 * requests asking for the same access share one cached token.
 */

export type ScopeSet = Map<string, Set<string>>;

/** `TYPE:NAME` → actions, from scope strings (several may share one string, space-separated). */
export function scopeSet(scopes: Iterable<string>): ScopeSet {
  const out: ScopeSet = new Map();
  for (const s of scopes) addScopes(out, s);
  return out;
}

export function addScopes(set: ScopeSet, scopes: string): void {
  for (const one of scopes.split(' ')) {
    if (!one) continue;
    const last = one.lastIndexOf(':');
    const first = one.indexOf(':');
    // `registry:catalog:*` has three parts; a scope without actions is kept whole with none
    const resource = last > first ? one.slice(0, last) : one;
    const actions = last > first ? one.slice(last + 1).split(',').filter(Boolean) : [];
    let have = set.get(resource);
    if (!have) set.set(resource, (have = new Set()));
    for (const a of actions) have.add(a);
  }
}

/** Every action of `b` is in `a`. */
export function covers(a: ScopeSet, b: ScopeSet): boolean {
  for (const [resource, actions] of b) {
    const have = a.get(resource);
    if (!have) return false;
    for (const x of actions) if (!have.has(x) && !have.has('*')) return false;
  }
  return true;
}

/** The scope strings, sorted, actions sorted: a stable key and the `scope` parameters of a token request. */
export function scopeStrings(set: ScopeSet): string[] {
  return [...set]
    .map(([resource, actions]) => (actions.size ? `${resource}:${[...actions].sort().join(',')}` : resource))
    .sort();
}

/** The repository named by the first `repository:NAME:...` scope, for credentials kept per repository. */
export function firstRepository(scopes: Iterable<string>): string | undefined {
  for (const s of scopes) {
    const m = /^repository(?:\([^)]*\))?:(.+):[^:]*$/.exec(s.split(' ')[0]);
    if (m) return m[1];
  }
  return undefined;
}

import { RegistryError } from '../../errors';
import type { AuthProvider } from '../types';
import { parseChallenges } from './challenge';
import { addScopes, covers, firstRepository, scopeSet, scopeStrings, type ScopeSet } from './scope';
import { fetchToken, type Token } from './token';
import type { DispatcherFor } from './http';
import type { Credentials } from './credentials-types';

/**
 * The AuthProvider of the registry client: what to send (`header`) and what to learn from a 401
 * (`challenged`). A host is spoken to anonymously until it challenges; from then on:
 * - Basic: the credentials, if there are any;
 * - Bearer: a token from the challenge's realm for the request's scopes, cached per scope set
 *   until it expires (a cached token whose scopes cover a request serves it too). A 401 with a
 *   scope the token lacks (`insufficient_scope`) widens the scopes asked for that request and
 *   fetches a new token. A cross-repository mount asks for `pull` on the source as well as
 *   `push` on the target: scopes are a list.
 * A realm that is not https is refused unless it is on the registry's own host (a token
 * request carries the password).
 * `challenged` answers true only when the retry would send something new, so a client that
 * retries while it is true cannot loop.
 */

export interface AuthProviderOptions {
  /** the credentials for a host (and the repository a request is for, for files that keep them per repository) */
  credentials?: (host: string, repository?: string) => Promise<Credentials | undefined>;
  /** how token requests reach a realm: the registry client's dispatcher, so TLS and proxies agree */
  dispatcherFor: DispatcherFor;
  /** the clock tokens expire by (tests move it) */
  now?: () => number;
}

type HostAuth = { kind: 'basic' } | { kind: 'bearer'; realm: URL; service?: string };

interface CachedToken {
  scopes: ScopeSet;
  token: Token;
  /** requests it was sent with: a token refused on its first use is not fetched again */
  uses: number;
}

export class RegistryAuth implements AuthProvider {
  private readonly hosts = new Map<string, HostAuth>();
  private readonly tokens = new Map<string, CachedToken[]>();
  private readonly inflight = new Map<string, Promise<CachedToken>>();
  /** host + requested scopes → the scopes asked for them (widened by insufficient_scope) */
  private readonly widened = new Map<string, ScopeSet>();
  /** host + requested scopes → the header sent last */
  private readonly lastSent = new Map<string, string | undefined>();
  private readonly creds = new Map<string, Promise<Credentials | undefined>>();

  constructor(private readonly opts: AuthProviderOptions) {}

  async header(host: string, scopes: string[], signal?: AbortSignal): Promise<string | undefined> {
    const auth = this.hosts.get(host);
    const k = requestKey(host, scopes);
    let h: string | undefined;
    if (auth?.kind === 'basic') h = basicHeader(await this.credentialsFor(host, scopes));
    else if (auth?.kind === 'bearer') {
      const cached = await this.tokenFor(host, auth, this.wanted(k, scopes), scopes, signal);
      cached.uses++;
      h = `Bearer ${cached.token.token}`;
    }
    this.lastSent.set(k, h);
    return h;
  }

  async challenged(host: string, scopes: string[], wwwAuthenticate: string | undefined, signal?: AbortSignal): Promise<boolean> {
    const challenges = parseChallenges(wwwAuthenticate);
    const k = requestKey(host, scopes);
    const sent = this.lastSent.get(k);
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    if (bearer) {
      const realm = checkRealm(host, bearer.params.realm);
      const service = bearer.params.service;
      const prev = this.hosts.get(host);
      const changed = prev?.kind !== 'bearer' || prev.realm.href !== realm.href || prev.service !== service;
      const current: Extract<HostAuth, { kind: 'bearer' }> = { kind: 'bearer', realm, service };
      this.hosts.set(host, current);
      const want = this.wanted(k, scopes);
      let grew = false;
      if (bearer.params.scope) {
        const wider = new Map([...want].map(([r, a]) => [r, new Set(a)]));
        addScopes(wider, bearer.params.scope);
        grew = !covers(want, wider);
        if (grew) this.widened.set(k, wider);
      }
      if (changed || grew || sent === undefined) return true;
      // the same realm asks for nothing new: the token sent was refused (expired early, revoked)
      const refused = sent.startsWith('Bearer ') ? this.dropToken(host, current, sent.slice(7)) : undefined;
      return refused !== undefined && refused.uses > 1;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      this.hosts.set(host, { kind: 'basic' });
      void signal; // nothing to fetch: the credentials are at hand
      const h = basicHeader(await this.credentialsFor(host, scopes));
      return h !== undefined && h !== sent;
    }
    return false;
  }

  /** What this provider knows of a host: for tests and `login`, which checks credentials were asked for. */
  hostAuth(host: string): 'anonymous' | 'basic' | 'bearer' {
    return this.hosts.get(host)?.kind ?? 'anonymous';
  }

  private wanted(k: string, scopes: string[]): ScopeSet {
    return this.widened.get(k) ?? scopeSet(scopes);
  }

  private credentialsFor(host: string, scopes: string[]): Promise<Credentials | undefined> {
    const repo = firstRepository(scopes);
    const k = `${host} ${repo ?? ''}`;
    let p = this.creds.get(k);
    if (!p) {
      p = this.opts.credentials ? this.opts.credentials(host, repo) : Promise.resolve(undefined);
      this.creds.set(k, p);
      p.catch(() => this.creds.delete(k));
    }
    return p;
  }

  private async tokenFor(host: string, auth: Extract<HostAuth, { kind: 'bearer' }>, want: ScopeSet, scopes: string[], signal?: AbortSignal): Promise<CachedToken> {
    const creds = await this.credentialsFor(host, scopes);
    const ck = cacheKey(host, auth, creds);
    const now = (this.opts.now ?? Date.now)();
    const list = (this.tokens.get(ck) ?? []).filter((t) => t.token.expiresAt > now);
    this.tokens.set(ck, list);
    const hit = list.find((t) => covers(t.scopes, want));
    if (hit) return hit;
    const wanted = scopeStrings(want);
    const fk = `${ck} ${wanted.join(' ')}`;
    let p = this.inflight.get(fk);
    if (!p) {
      p = fetchToken({ realm: auth.realm, service: auth.service, scopes: wanted, creds, host, signal }, this.opts.dispatcherFor).then((token) => {
        const entry: CachedToken = { scopes: want, token, uses: 0 };
        (this.tokens.get(ck) ?? this.tokens.set(ck, []).get(ck)!).push(entry);
        return entry;
      });
      this.inflight.set(fk, p);
      p.then(
        () => this.inflight.delete(fk),
        () => this.inflight.delete(fk),
      );
    }
    return p;
  }

  private dropToken(host: string, a: Extract<HostAuth, { kind: 'bearer' }>, token: string): CachedToken | undefined {
    for (const [ck, list] of this.tokens) {
      if (!ck.startsWith(`${host} ${a.realm.href} `)) continue;
      const i = list.findIndex((t) => t.token.token === token);
      if (i >= 0) return list.splice(i, 1)[0];
    }
    return undefined;
  }
}

function requestKey(host: string, scopes: string[]): string {
  return `${host} ${scopeStrings(scopeSet(scopes)).join(' ')}`;
}

function cacheKey(host: string, a: Extract<HostAuth, { kind: 'bearer' }>, creds: Credentials | undefined): string {
  const who = creds ? `${creds.source ?? ''}:${creds.username ?? '<token>'}` : 'anonymous';
  return `${host} ${a.realm.href} ${a.service ?? ''} ${who}`;
}

function basicHeader(c: Credentials | undefined): string | undefined {
  if (!c || c.username === undefined || c.password === undefined) return undefined;
  return 'Basic ' + Buffer.from(`${c.username}:${c.password}`).toString('base64');
}

/** The realm as a URL: https, or http on the registry's own host name (the password goes there). */
export function checkRealm(host: string, realm: string): URL {
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new RegistryError('PROTOCOL', `${host} challenged with a realm that is no URL: ${JSON.stringify(realm)}`);
  }
  const registryHost = new URL(`http://${host}`).hostname;
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && url.hostname === registryHost) return url;
  throw new RegistryError(
    'INSECURE_REALM',
    `${host} sends token requests to ${url.origin}, which is not https and not on ${registryHost}: refused, since credentials would cross the network in clear`,
    url.href,
  );
}

import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';

/**
 * A token server as the distribution token spec describes it, on 127.0.0.1, signing RS256 JWTs
 * whose header carries the issuer's certificate (`x5c`); the registry is configured with that
 * certificate as its rootcertbundle and verifies every token for real.
 * - GET /token?service=&scope=...: Basic auth (or none: anonymous);
 * - POST /token: the OAuth2 form, grant_type=refresh_token or password (unless `oauth: false`,
 *   when POST gets 404 as from a server without OAuth2).
 * What each principal may do is `grant(principal, type, name, wanted)`; every request is recorded.
 */

export interface IssuerRequest {
  method: string;
  /** the principal: a username, or null for anonymous */
  account: string | null;
  scopes: string[];
  grantType?: string;
}

export interface TokenIssuer {
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
  requests: IssuerRequest[];
  close(): Promise<void>;
}

export interface IssuerOptions {
  certFile: string;
  keyFile: string;
  der: Buffer;
  users: Record<string, string>;
  /** refresh token → username */
  refreshTokens?: Record<string, string>;
  grant: (account: string | null, type: string, name: string, wanted: string[]) => string[];
  oauth?: boolean;
  /** seconds */
  expiresIn?: number;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export async function startTokenIssuer(opts: IssuerOptions): Promise<TokenIssuer> {
  const key = crypto.createPrivateKey(fs.readFileSync(opts.keyFile));
  const service = 'layerfs-test-registry';
  const issuer = 'layerfs-test-issuer';
  const requests: IssuerRequest[] = [];
  const sign = (account: string | null, scopes: string[]): string => {
    const access = scopes.map((s) => {
      const last = s.lastIndexOf(':');
      const first = s.indexOf(':');
      const type = s.slice(0, first);
      const name = s.slice(first + 1, last);
      const wanted = s.slice(last + 1).split(',');
      return { type, name, actions: opts.grant(account, type, name, wanted) };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [opts.der.toString('base64')] };
    const claims = { iss: issuer, sub: account ?? '', aud: service, exp: now + (opts.expiresIn ?? 300), nbf: now - 10, iat: now, jti: crypto.randomUUID(), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    return `${input}.${b64url(crypto.sign('sha256', Buffer.from(input), key))}`;
  };
  const deny = (res: http.ServerResponse, status: number, code: string, message: string) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code, message }] }));
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/token') return deny(res, 404, 'NOT_FOUND', 'no such endpoint');
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      if (req.method === 'POST') {
        if (opts.oauth === false) return deny(res, 404, 'NOT_FOUND', 'no OAuth2 here');
        const form = new URLSearchParams(Buffer.concat(body).toString());
        const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        const grantType = form.get('grant_type') ?? '';
        let account: string | null = null;
        if (grantType === 'refresh_token') account = opts.refreshTokens?.[form.get('refresh_token') ?? ''] ?? null;
        else if (grantType === 'password' && opts.users[form.get('username') ?? ''] === form.get('password')) account = form.get('username');
        requests.push({ method: 'POST', account, scopes, grantType });
        if (!account) {
          res.writeHead(401, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'the grant is not valid' }));
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ access_token: sign(account, scopes), expires_in: opts.expiresIn ?? 300, scope: scopes.join(' ') }));
      }
      const scopes = url.searchParams.getAll('scope');
      let account: string | null = null;
      const authz = req.headers.authorization;
      if (authz) {
        const [user, ...rest] = Buffer.from(authz.replace(/^Basic /i, ''), 'base64').toString().split(':');
        const pass = rest.join(':');
        if (opts.users[user] === pass) account = user;
        else if (user === '<token>' && opts.refreshTokens?.[pass]) account = opts.refreshTokens[pass];
        else {
          requests.push({ method: 'GET', account: user, scopes });
          return deny(res, 401, 'UNAUTHORIZED', `bad password for ${user}`);
        }
      }
      requests.push({ method: 'GET', account, scopes });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: sign(account, scopes), expires_in: opts.expiresIn ?? 300, issued_at: new Date().toISOString() }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile: opts.certFile,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The registry's `auth` section for this issuer: it verifies the issuer's tokens against its certificate. */
export function tokenAuth(issuer: TokenIssuer): Record<string, unknown> {
  return { token: { realm: issuer.realm, service: issuer.service, issuer: issuer.issuer, rootcertbundle: issuer.certFile } };
}

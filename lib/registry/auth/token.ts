import { RegistryError } from '../../errors';
import { smallRequest, registrySaid, urlText, type DispatcherFor } from './http';
import type { Credentials } from './credentials-types';

/**
 * A token request to a bearer challenge's realm (the distribution token spec):
 * - with a username and password: GET realm?service=&scope=... with Basic auth;
 * - anonymous: the same GET without it;
 * - with an identity token (a refresh token from `docker login`): the OAuth2 form, POST
 *   grant_type=refresh_token, falling back to the GET (Basic with the token as the password)
 *   where the server has no OAuth2 endpoint (404 or 405).
 */

export interface Token {
  token: string;
  /** ms since the epoch, with a margin: after this the token is not used */
  expiresAt: number;
  /** a newer refresh token, if the server rotated it */
  refreshToken?: string;
}

export interface TokenRequest {
  realm: URL;
  service?: string;
  scopes: string[];
  creds?: Credentials;
  /** the registry the token is for (messages) */
  host: string;
  signal?: AbortSignal;
}

const CLIENT_ID = 'layerfs';
/** the spec's default when a server leaves expires_in out, and the least it may give */
const MIN_LIFETIME_S = 60;

export async function fetchToken(req: TokenRequest, dispatcherFor: DispatcherFor): Promise<Token> {
  if (req.creds?.identityToken) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: req.creds.identityToken, client_id: CLIENT_ID });
    if (req.service) form.set('service', req.service);
    if (req.scopes.length) form.set('scope', req.scopes.join(' '));
    const res = await smallRequest(
      req.realm,
      { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString(), signal: req.signal },
      dispatcherFor,
    );
    if (res.status !== 404 && res.status !== 405) return parseTokenAnswer(req, res.status, res.body);
  }
  const url = new URL(req.realm);
  if (req.service) url.searchParams.set('service', req.service);
  for (const s of req.scopes) url.searchParams.append('scope', s);
  const headers: Record<string, string> = {};
  const user = req.creds?.username ?? (req.creds?.identityToken ? '<token>' : undefined);
  const secret = req.creds?.identityToken ?? req.creds?.password;
  if (user !== undefined && secret !== undefined) {
    headers.authorization = 'Basic ' + Buffer.from(`${user}:${secret}`).toString('base64');
    if (!req.creds?.identityToken) url.searchParams.set('account', user);
  }
  const res = await smallRequest(url, { headers, signal: req.signal }, dispatcherFor);
  return parseTokenAnswer(req, res.status, res.body);
}

function parseTokenAnswer(req: TokenRequest, status: number, body: Buffer): Token {
  const where = urlText(req.realm);
  if (status < 200 || status > 299) {
    const said = registrySaid(body);
    const kind = status === 401 ? 'UNAUTHORIZED' : status === 403 ? 'DENIED' : status === 429 ? 'TOOMANYREQUESTS' : status >= 500 ? 'UNAVAILABLE' : 'UNAUTHORIZED';
    const who = req.creds ? `the credentials for ${req.host}` : `anonymous access to ${req.host}`;
    throw new RegistryError(
      kind,
      `the token server ${where} refused ${who} (scope ${req.scopes.join(' ') || 'none'}): ${status}${said.code ? ` ${said.code}` : ''}${said.message ? `: ${said.message}` : ''}`,
      where,
      status,
      said.code,
      said.message,
    );
  }
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new RegistryError('PROTOCOL', `the token server ${where} answered ${status} with no JSON`, where, status);
  }
  const token = typeof j.token === 'string' && j.token ? j.token : typeof j.access_token === 'string' ? j.access_token : '';
  if (!token) throw new RegistryError('PROTOCOL', `the token server ${where} answered without a token`, where, status);
  const lifetime = Math.max(MIN_LIFETIME_S, typeof j.expires_in === 'number' ? j.expires_in : 0);
  // a tenth of the lifetime (at most a minute) is kept back, so a token does not expire in flight
  const margin = Math.min(60, lifetime / 10);
  return {
    token,
    expiresAt: Date.now() + (lifetime - margin) * 1000,
    refreshToken: typeof j.refresh_token === 'string' && j.refresh_token ? j.refresh_token : undefined,
  };
}

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Agent, request } from 'undici';
import { RegistryAuth } from '../../../lib/registry/auth/provider';
import { describeIf } from '../../fixtures/peers';
import { makeIssuerCert } from './pki';
import { startTokenIssuer, type TokenIssuer } from './token-issuer';
import { startRegistry, type RegistryServer as RunningRegistry } from '../registry-server';
import { tokenAuth } from './token-issuer';
import type { Credentials } from '../../../lib/registry/auth/credentials-types';

/*
 * The bearer token flow against docker-registry configured with auth.token: the registry
 * verifies every JWT our issuer signs (RS256, x5c) against the issuer's certificate, so a
 * token that does not grant what a request needs is refused by the registry itself.
 */

const dispatcher = new Agent();
const dispatcherFor = () => dispatcher;
afterAll(() => dispatcher.close());

/** A request as the registry client makes it: header, and one retry per challenge while challenged() says so. */
async function call(auth: RegistryAuth, reg: RunningRegistry, method: 'GET' | 'POST' | 'HEAD', p: string, scopes: string[]): Promise<{ status: number; body: string; tries: number }> {
  for (let tries = 1; ; tries++) {
    const h = await auth.header(reg.host, scopes);
    const res = await request(`${reg.url}${p}`, { method, headers: h ? { authorization: h } : {}, dispatcher });
    const body = await res.body.text();
    if (res.statusCode !== 401) return { status: res.statusCode, body, tries };
    const www = res.headers['www-authenticate'];
    if (tries > 5 || !(await auth.challenged(reg.host, scopes, Array.isArray(www) ? www.join(', ') : www))) return { status: 401, body, tries };
  }
}

describeIf(['docker-registry', 'openssl'])('bearer tokens against docker-registry with auth.token', () => {
  let work: string;
  let issuer: TokenIssuer;
  let reg: RunningRegistry;
  const provider = (creds?: Credentials) => new RegistryAuth({ credentials: async () => creds, dispatcherFor });

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-regauth-token-'));
    const cert = makeIssuerCert(path.join(work, 'issuer'));
    issuer = await startTokenIssuer({
      certFile: cert.cert,
      keyFile: cert.key,
      der: cert.der,
      users: { alice: 'wonderland' },
      refreshTokens: { 'rt-alice': 'alice' },
      // alice may do anything; anonymous may pull public/* only
      grant: (account, type, name, wanted) => (type !== 'repository' ? [] : account === 'alice' ? wanted : name.startsWith('public/') ? wanted.filter((a) => a === 'pull') : []),
    });
    reg = await startRegistry({ auth: tokenAuth(issuer) });
  });
  afterAll(async () => {
    await reg?.stop();
    await issuer?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });
  beforeEach(() => {
    issuer.requests.length = 0;
  });

  test('a challenge gives a token for its scope; the registry accepts it', async () => {
    const auth = provider({ username: 'alice', password: 'wonderland' });
    const r = await call(auth, reg, 'GET', '/v2/', []);
    expect(r).toMatchObject({ status: 200, tries: 2 });
    expect(auth.hostAuth(reg.host)).toBe('bearer');
    // the scope comes from the challenge when the request named none
    const tags = await call(auth, reg, 'GET', '/v2/team/app/tags/list', []);
    expect(tags.status).toBe(404); // NAME_UNKNOWN: authorized, and nothing there yet
    expect(JSON.parse(tags.body).errors[0].code).toBe('NAME_UNKNOWN');
    expect(issuer.requests.map((q) => [q.method, q.account, q.scopes])).toEqual([
      ['GET', 'alice', []],
      ['GET', 'alice', ['repository:team/app:pull']],
    ]);
  });

  test('tokens are cached per scope until they expire: one token request per scope set', async () => {
    const auth = provider({ username: 'alice', password: 'wonderland' });
    await call(auth, reg, 'GET', '/v2/', []);
    for (let i = 0; i < 3; i++) {
      expect((await call(auth, reg, 'GET', '/v2/a/tags/list', ['repository:a:pull'])).status).toBe(404);
      expect((await call(auth, reg, 'GET', '/v2/b/tags/list', ['repository:b:pull'])).status).toBe(404);
    }
    // parallel requests for one scope share one token request
    await Promise.all([1, 2, 3, 4].map(() => call(auth, reg, 'GET', '/v2/c/tags/list', ['repository:c:pull'])));
    expect(issuer.requests.map((q) => q.scopes)).toEqual([[], ['repository:a:pull'], ['repository:b:pull'], ['repository:c:pull']]);
  });

  test('insufficient_scope adds the scope and fetches a new token, which then serves the narrower scope too', async () => {
    const auth = provider({ username: 'alice', password: 'wonderland' });
    expect((await call(auth, reg, 'GET', '/v2/a/tags/list', ['repository:a:pull'])).status).toBe(404);
    // an upload needs push: the pull token is refused with insufficient_scope
    const up = await call(auth, reg, 'POST', '/v2/a/blobs/uploads/', ['repository:a:pull']);
    expect(up).toMatchObject({ status: 202, tries: 2 });
    expect(issuer.requests.map((q) => q.scopes)).toEqual([['repository:a:pull'], ['repository:a:pull,push']]);
    expect((await call(auth, reg, 'GET', '/v2/a/tags/list', ['repository:a:pull'])).status).toBe(404);
    expect(issuer.requests).toHaveLength(2);
  });

  test('a mount asks for pull on the source beside push on the target, in one token', async () => {
    const auth = provider({ username: 'alice', password: 'wonderland' });
    const scopes = ['repository:target:pull,push', 'repository:source:pull'];
    const r = await call(auth, reg, 'POST', '/v2/target/blobs/uploads/?mount=sha256:' + 'a'.repeat(64) + '&from=source', scopes);
    expect(r.status).toBe(202); // the blob is not in source: an upload session instead of a mount
    expect(issuer.requests.at(-1)!.scopes).toEqual(['repository:source:pull', 'repository:target:pull,push']);
  });

  test('anonymous: a token for what anonymous may do; a scope it may not have ends in 401, without a loop', async () => {
    const auth = provider(undefined);
    expect((await call(auth, reg, 'GET', '/v2/public/x/tags/list', ['repository:public/x:pull'])).status).toBe(404);
    const denied = await call(auth, reg, 'POST', '/v2/public/x/blobs/uploads/', ['repository:public/x:pull,push']);
    expect(denied.status).toBe(401);
    expect(denied.tries).toBeLessThanOrEqual(2);
    expect(JSON.parse(denied.body).errors[0].code).toBe('UNAUTHORIZED');
    expect(issuer.requests.length).toBeGreaterThan(0);
    expect(issuer.requests.every((q) => q.account === null)).toBe(true);
  });

  test('wrong credentials: LAYERFS_REGISTRY_UNAUTHORIZED naming the token server and its code', async () => {
    const auth = provider({ username: 'alice', password: 'looking-glass' });
    await expect(call(auth, reg, 'GET', '/v2/', [])).rejects.toMatchObject({
      code: 'LAYERFS_REGISTRY_UNAUTHORIZED',
      status: 401,
      registryCode: 'UNAUTHORIZED',
      message: expect.stringContaining(issuer.realm),
    });
  });

  test('an identity token is refreshed with the OAuth2 POST form', async () => {
    const auth = provider({ identityToken: 'rt-alice' });
    expect((await call(auth, reg, 'POST', '/v2/a/blobs/uploads/', ['repository:a:pull,push'])).status).toBe(202);
    expect(issuer.requests.map((q) => [q.method, q.grantType, q.account])).toEqual([['POST', 'refresh_token', 'alice']]);
  });

  test('a refused identity token is LAYERFS_REGISTRY_UNAUTHORIZED with the OAuth2 error', async () => {
    const auth = provider({ identityToken: 'rt-stale' });
    await expect(call(auth, reg, 'GET', '/v2/', [])).rejects.toMatchObject({ code: 'LAYERFS_REGISTRY_UNAUTHORIZED', registryCode: 'INVALID_GRANT' });
  });
});

describeIf(['docker-registry', 'openssl'])('a token server without OAuth2', () => {
  let work: string;
  let issuer: TokenIssuer;
  let reg: RunningRegistry;
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-regauth-token-'));
    const cert = makeIssuerCert(path.join(work, 'issuer'));
    issuer = await startTokenIssuer({ certFile: cert.cert, keyFile: cert.key, der: cert.der, users: {}, refreshTokens: { 'rt-bob': 'bob' }, oauth: false, grant: (_a, _t, _n, wanted) => wanted });
    reg = await startRegistry({ auth: tokenAuth(issuer) });
  });
  afterAll(async () => {
    await reg?.stop();
    await issuer?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('the identity token falls back to GET when POST is 404', async () => {
    const auth = new RegistryAuth({ credentials: async () => ({ identityToken: 'rt-bob' }), dispatcherFor });
    expect((await call(auth, reg, 'GET', '/v2/', [])).status).toBe(200);
    expect(issuer.requests.map((q) => [q.method, q.account])).toEqual([['GET', 'bob']]);
  });
});

describeIf(['docker-registry', 'openssl'])('expiry', () => {
  let work: string;
  let issuer: TokenIssuer;
  let reg: RunningRegistry;
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-regauth-token-'));
    const cert = makeIssuerCert(path.join(work, 'issuer'));
    issuer = await startTokenIssuer({ certFile: cert.cert, keyFile: cert.key, der: cert.der, users: {}, expiresIn: 120, grant: (_a, _t, _n, wanted) => wanted });
    reg = await startRegistry({ auth: tokenAuth(issuer) });
  });
  afterAll(async () => {
    await reg?.stop();
    await issuer?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('a token is used until it expires (less a margin), then fetched again', async () => {
    let skew = 0;
    const auth = new RegistryAuth({ credentials: async () => undefined, dispatcherFor, now: () => Date.now() + skew });
    expect((await call(auth, reg, 'GET', '/v2/a/tags/list', ['repository:a:pull'])).status).toBe(404);
    skew = 100_000; // within 120 s less the margin of 12 s
    expect((await call(auth, reg, 'GET', '/v2/a/tags/list', ['repository:a:pull'])).status).toBe(404);
    expect(issuer.requests).toHaveLength(1);
    skew = 110_000;
    expect((await call(auth, reg, 'GET', '/v2/a/tags/list', ['repository:a:pull'])).status).toBe(404);
    expect(issuer.requests).toHaveLength(2);
  });
});

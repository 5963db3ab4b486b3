import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { request } from 'undici';
import { verifyCredentials } from '../../../lib/registry/auth/login';
import { authProvider } from '../../../lib/registry/auth';
import { connectSettings, tlsFor } from '../../../lib/registry/config/tls';
import { proxyDispatcher } from '../../../lib/registry/config/dispatcher';
import { describeIf } from '../../fixtures/peers';
import { certDir, makePki, type Pki } from './pki';
import { startRegistry, type RegistryServer as RunningRegistry } from '../registry-server';
import { startConnectProxy, type ConnectProxy } from './connect-proxy';

/*
 * docker-registry over TLS, with a CA made here by openssl, and htpasswd (bcrypt) auth: whom
 * we trust (--cert-dir, certs.d, --tls-verify=false), client certificates, Basic credentials,
 * and proxies (a CONNECT proxy on 127.0.0.1).
 */

describeIf(['docker-registry', 'openssl', 'htpasswd'])('TLS and htpasswd', () => {
  let work: string;
  let pki: Pki;
  let reg: RunningRegistry;
  let mtls: RunningRegistry;
  let proxy: ConnectProxy;
  const good = { username: 'alice', password: 'wonderland' };
  // no proxy from the machine's environment, no certs.d of the machine
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ HOME: path.join(work, 'home'), LAYERFS_CERTS_D: path.join(work, 'certs.d'), ...extra });

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-regauth-tls-'));
    pki = makePki(path.join(work, 'pki'));
    reg = await startRegistry({ tls: { certificate: pki.serverCert, key: pki.serverKey }, htpasswd: { [good.username]: good.password } });
    mtls = await startRegistry({ tls: { certificate: pki.serverCert, key: pki.serverKey, clientCAs: [pki.caCert] } });
    proxy = await startConnectProxy();
  });
  afterAll(async () => {
    await reg?.stop();
    await mtls?.stop();
    await proxy?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('an untrusted certificate: the TLS error names --cert-dir and --tls-verify', async () => {
    const e = await verifyCredentials(reg.host, good, { env: env() }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'LAYERFS_REGISTRY_TLS' });
    expect((e as Error).message).toMatch(/--cert-dir/);
    expect((e as Error).message).toMatch(/--tls-verify=false/);
  });

  test('--cert-dir with the CA makes it work; good credentials pass Basic', async () => {
    const dir = certDir(path.join(work, 'cd1'), pki, false);
    expect(await verifyCredentials(reg.host, good, { env: env(), certDir: dir })).toEqual({ scheme: 'https', auth: 'basic' });
  });

  test('wrong credentials: LAYERFS_REGISTRY_UNAUTHORIZED with the registry code', async () => {
    const dir = certDir(path.join(work, 'cd2'), pki, false);
    await expect(verifyCredentials(reg.host, { username: 'alice', password: 'nope' }, { env: env(), certDir: dir })).rejects.toMatchObject({
      code: 'LAYERFS_REGISTRY_UNAUTHORIZED',
      status: 401,
      registryCode: 'UNAUTHORIZED',
      url: `https://${reg.host}/v2/`,
    });
  });

  test('certs.d/HOST:PORT/ is used when --cert-dir is not given; --cert-dir replaces it', async () => {
    certDir(path.join(work, 'certs.d', reg.host), pki, false);
    try {
      expect((await verifyCredentials(reg.host, good, { env: env() })).scheme).toBe('https');
      const empty = path.join(work, 'empty-cert-dir');
      fs.mkdirSync(empty, { recursive: true });
      await expect(verifyCredentials(reg.host, good, { env: env(), certDir: empty })).rejects.toMatchObject({ code: 'LAYERFS_REGISTRY_TLS' });
    } finally {
      fs.rmSync(path.join(work, 'certs.d'), { recursive: true, force: true });
    }
  });

  test('--tls-verify=false: no verification', async () => {
    expect((await verifyCredentials(reg.host, good, { env: env(), tlsVerify: false })).scheme).toBe('https');
  });

  test('a registry that asks for a client certificate: *.cert and *.key in the cert dir', async () => {
    const caOnly = certDir(path.join(work, 'cd3'), pki, false);
    await expect(verifyCredentials(mtls.host, good, { env: env(), certDir: caOnly })).rejects.toMatchObject({ code: expect.stringMatching(/^LAYERFS_REGISTRY_(TLS|UNREACHABLE)$/) });
    const withClient = certDir(path.join(work, 'cd4'), pki, true);
    expect(tlsFor(mtls.host, { certDir: withClient })).toMatchObject({ cert: expect.any(Buffer), key: expect.any(Buffer), ca: [expect.any(Buffer)], verify: true });
    expect(await verifyCredentials(mtls.host, good, { env: env(), certDir: withClient })).toEqual({ scheme: 'https', auth: 'anonymous' });
  });

  test('a client certificate without its key is an error naming it', () => {
    const dir = path.join(work, 'cd5');
    fs.mkdirSync(dir);
    fs.copyFileSync(pki.clientCert, path.join(dir, 'me.cert'));
    expect(() => tlsFor(mtls.host, { certDir: dir })).toThrow(expect.objectContaining({ code: 'LAYERFS_INVALID_ARGUMENT', message: expect.stringContaining('me.key') }));
    expect(() => tlsFor(mtls.host, { certDir: path.join(work, 'no-such-dir') })).toThrow(expect.objectContaining({ code: 'LAYERFS_INVALID_ARGUMENT' }));
  });

  test('HTTPS_PROXY is used (CONNECT to the registry), NO_PROXY skips it', async () => {
    const dir = certDir(path.join(work, 'cd6'), pki, false);
    proxy.targets.length = 0;
    expect((await verifyCredentials(reg.host, good, { env: env({ HTTPS_PROXY: proxy.url }), certDir: dir })).auth).toBe('basic');
    expect(proxy.targets.length).toBeGreaterThan(0);
    expect(new Set(proxy.targets)).toEqual(new Set([reg.host]));
    proxy.targets.length = 0;
    expect((await verifyCredentials(reg.host, good, { env: env({ HTTPS_PROXY: proxy.url, NO_PROXY: 'example.com,127.0.0.1' }), certDir: dir })).auth).toBe('basic');
    expect(proxy.targets).toEqual([]);
  });

  test('the dispatcher and TLS settings as the registry client takes them, through the proxy', async () => {
    const dir = certDir(path.join(work, 'cd7'), pki, false);
    proxy.targets.length = 0;
    const d = proxyDispatcher(connectSettings(tlsFor(reg.host, { certDir: dir })), { env: { https_proxy: proxy.url } });
    const auth = authProvider({ creds: 'alice:wonderland', certDir: dir, env: env() });
    let res = await request(`https://${reg.host}/v2/_catalog`, { dispatcher: d });
    await res.body.text();
    expect(res.statusCode).toBe(401);
    expect(await auth.challenged(reg.host, ['registry:catalog:*'], res.headers['www-authenticate'] as string)).toBe(true);
    res = await request(`https://${reg.host}/v2/_catalog`, { dispatcher: d, headers: { authorization: (await auth.header(reg.host, ['registry:catalog:*']))! } });
    expect(JSON.parse(await res.body.text())).toEqual({ repositories: [] });
    expect(new Set(proxy.targets)).toEqual(new Set([reg.host]));
    await d.close();
  });
});

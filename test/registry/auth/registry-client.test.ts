import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import { Registry } from '../../../lib/registry';
import { registryAccess } from '../../../lib/registry/config';
import { describeIf } from '../../fixtures/peers';
import { startRegistry, type RegistryServer } from '../registry-server';
import { certDir, makeIssuerCert, makePki, type Pki } from './pki';
import { startTokenIssuer, tokenAuth, type TokenIssuer } from './token-issuer';
import { startConnectProxy, type ConnectProxy } from './connect-proxy';

/*
 * The registry client with what registryAccess(flags) gives it, as pull and push will use it:
 * real docker-registry instances, one with token auth, one with TLS and htpasswd.
 */

const blob = (text: string) => {
  const body = Buffer.from(text);
  return { body, desc: { digest: 'sha256:' + crypto.createHash('sha256').update(body).digest('hex'), size: body.length } };
};
const opener = (b: Buffer) => () => Readable.from([b]);
const read = async (r: Readable) => {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts).toString();
};

describeIf(['docker-registry', 'openssl'])('Registry with token auth from registryAccess', () => {
  let work: string;
  let issuer: TokenIssuer;
  let reg: RegistryServer;
  const clients: Registry[] = [];
  const client = (creds?: string) => {
    const c = new Registry(reg.host, { ...registryAccess({ creds, env: { HOME: path.join(work, 'home') } }), plainHttp: () => true, retries: 1 });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-regauth-client-'));
    const cert = makeIssuerCert(path.join(work, 'issuer'));
    issuer = await startTokenIssuer({
      certFile: cert.cert,
      keyFile: cert.key,
      der: cert.der,
      users: { alice: 'wonderland', bob: 'builder' },
      // bob may push to bob/* only, and pull anything
      grant: (account, type, name, wanted) => (type !== 'repository' || !account ? [] : account === 'alice' || name.startsWith('bob/') ? wanted : wanted.filter((a) => a === 'pull')),
    });
    reg = await startRegistry({ auth: tokenAuth(issuer) });
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await reg?.stop();
    await issuer?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('push, then a mount into another repository: one token with pull on the source and push on the target', async () => {
    const alice = client('alice:wonderland');
    const b = blob('a layer, say');
    expect(await alice.pushBlob('team/base', b.desc, opener(b.body))).toMatchObject({ how: 'uploaded' });
    issuer.requests.length = 0;
    const bob = client('bob:builder');
    expect(await bob.pushBlob('bob/app', b.desc, opener(b.body), { mountFrom: 'team/base' })).toMatchObject({ how: 'mounted', bytes: 0 });
    expect(issuer.requests.map((q) => [q.account, q.scopes])).toContainEqual(['bob', ['repository:bob/app:pull,push', 'repository:team/base:pull']]);
    expect(await read(await bob.getBlob('bob/app', b.desc))).toBe('a layer, say');
    // the tokens are cached: a second read asks the issuer nothing
    const n = issuer.requests.length;
    expect(await read(await bob.getBlob('bob/app', b.desc))).toBe('a layer, say');
    expect(issuer.requests.length).toBe(n);
  });

  test('what the token server does not grant: LAYERFS_REGISTRY_UNAUTHORIZED from the registry, with its code', async () => {
    const b = blob('bob may not write here');
    await expect(client('bob:builder').pushBlob('team/base', b.desc, opener(b.body))).rejects.toMatchObject({ code: 'LAYERFS_REGISTRY_UNAUTHORIZED', registryCode: 'UNAUTHORIZED', status: 401 });
    await expect(client(undefined).headBlob('team/base', b.desc.digest)).rejects.toMatchObject({ code: 'LAYERFS_REGISTRY_UNAUTHORIZED' });
  });

  test('wrong credentials: the token server refuses them, LAYERFS_REGISTRY_UNAUTHORIZED', async () => {
    await expect(client('bob:wrong').ping()).rejects.toMatchObject({ code: 'LAYERFS_REGISTRY_UNAUTHORIZED', status: 401, registryCode: 'UNAUTHORIZED' });
  });
});

describeIf(['docker-registry', 'openssl', 'htpasswd'])('Registry over TLS with htpasswd from registryAccess', () => {
  let work: string;
  let pki: Pki;
  let reg: RegistryServer;
  let proxy: ConnectProxy;
  const clients: Registry[] = [];
  const client = (o: Parameters<typeof registryAccess>[0]) => {
    const c = new Registry(reg.host, { ...registryAccess({ env: { HOME: path.join(work, 'home'), LAYERFS_CERTS_D: path.join(work, 'none') }, ...o }), retries: 1 });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-regauth-client-'));
    pki = makePki(path.join(work, 'pki'));
    reg = await startRegistry({ tls: { certificate: pki.serverCert, key: pki.serverKey }, htpasswd: { alice: 'wonderland' } });
    proxy = await startConnectProxy();
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await reg?.stop();
    await proxy?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('an untrusted certificate: LAYERFS_REGISTRY_TLS naming --cert-dir and --tls-verify', async () => {
    const e = (await client({ creds: 'alice:wonderland' }).ping().catch((x: unknown) => x)) as Error;
    expect(e).toMatchObject({ code: 'LAYERFS_REGISTRY_TLS' });
    expect(e.message).toMatch(/--cert-dir/);
    expect(e.message).toMatch(/--tls-verify=false/);
  });

  test('--cert-dir: works; wrong credentials are LAYERFS_REGISTRY_UNAUTHORIZED with the registry code', async () => {
    const dir = certDir(path.join(work, 'cd'), pki, false);
    await client({ creds: 'alice:wonderland', certDir: dir }).ping();
    await expect(client({ creds: 'alice:nope', certDir: dir }).ping()).rejects.toMatchObject({ code: 'LAYERFS_REGISTRY_UNAUTHORIZED', registryCode: 'UNAUTHORIZED', status: 401 });
    await expect(client({ certDir: dir }).ping()).rejects.toMatchObject({ code: 'LAYERFS_REGISTRY_UNAUTHORIZED' });
  });

  test('--tls-verify=false, and a host that registries.conf calls insecure', async () => {
    await client({ creds: 'alice:wonderland', tlsVerify: false }).ping();
    await client({ creds: 'alice:wonderland', insecureHosts: [reg.host] }).ping();
  });

  test('HTTPS_PROXY carries the requests; NO_PROXY does not', async () => {
    const dir = certDir(path.join(work, 'cd2'), pki, false);
    proxy.targets.length = 0;
    const b = blob('through the proxy');
    const c = client({ creds: 'alice:wonderland', certDir: dir, env: { HOME: path.join(work, 'home'), HTTPS_PROXY: proxy.url } });
    await c.pushBlob('p/q', b.desc, opener(b.body));
    expect(await read(await c.getBlob('p/q', b.desc))).toBe('through the proxy');
    expect(proxy.targets.length).toBeGreaterThan(0);
    expect(new Set(proxy.targets)).toEqual(new Set([reg.host]));
    proxy.targets.length = 0;
    await client({ creds: 'alice:wonderland', certDir: dir, env: { HOME: path.join(work, 'home'), HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.1' } }).ping();
    expect(proxy.targets).toEqual([]);
  });
});

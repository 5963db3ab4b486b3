import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { findCredentials, authFiles, parseCreds } from '../../../lib/registry/auth/credentials';
import { normalizeKey } from '../../../lib/registry/auth/auth-file';
import { makeFakeHelper, type FakeHelper } from './fake-helper';

/*
 * Where credentials come from, in containers/image's order, and what docker's config.json can
 * say (auths, identitytoken, credHelpers, credsStore), with a real helper program on PATH.
 */

const b64 = (s: string) => Buffer.from(s).toString('base64');
let work: string;
let helper: FakeHelper;
let env: NodeJS.ProcessEnv;
const warnings: string[] = [];
const writeJson = (f: string, j: unknown) => {
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, JSON.stringify(j));
};
const find = (host: string, repo?: string, extra: { creds?: string; authfile?: string } = {}) => findCredentials(host, repo, { ...extra, env, warn: (m) => warnings.push(m) });

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-regauth-creds-'));
  helper = makeFakeHelper(work, 'test', { 'helper.example': { Username: 'hu', Secret: 'hp' }, 'https://index.docker.io/v1/': { Username: 'hub', Secret: 'hubp' }, 'tok.example': { Username: '<token>', Secret: 'refresh-1' } });
  env = { HOME: path.join(work, 'home'), XDG_RUNTIME_DIR: path.join(work, 'run'), PATH: `${helper.bin}:${process.env.PATH}` };
  warnings.length = 0;
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

test('the files read, in order', () => {
  expect(authFiles({ env })).toEqual([path.join(work, 'run/containers/auth.json'), path.join(work, 'home/.config/containers/auth.json'), path.join(work, 'home/.docker/config.json')]);
  expect(authFiles({ env: { ...env, REGISTRY_AUTH_FILE: '/x/a.json', DOCKER_CONFIG: '/d' } })[0]).toBe('/x/a.json');
  expect(authFiles({ env: { ...env, REGISTRY_AUTH_FILE: '/x/a.json', DOCKER_CONFIG: '/d' }, authfile: '/y/b.json' })).toEqual(['/y/b.json', path.join(work, 'run/containers/auth.json'), path.join(work, 'home/.config/containers/auth.json'), '/d/config.json']);
});

test('first found wins: --creds, --authfile, $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR, ~/.config, docker', async () => {
  const host = 'r.example:5000';
  const entry = (u: string) => ({ auths: { [host]: { auth: b64(`${u}:pw-${u}`) } } });
  writeJson(path.join(env.HOME!, '.docker/config.json'), entry('docker'));
  expect(await find(host)).toMatchObject({ username: 'docker', password: 'pw-docker' });
  writeJson(path.join(env.HOME!, '.config/containers/auth.json'), entry('config'));
  expect(await find(host)).toMatchObject({ username: 'config' });
  writeJson(path.join(env.XDG_RUNTIME_DIR!, 'containers/auth.json'), entry('runtime'));
  expect(await find(host)).toMatchObject({ username: 'runtime' });
  const regFile = path.join(work, 'reg.json');
  writeJson(regFile, entry('env'));
  env.REGISTRY_AUTH_FILE = regFile;
  expect(await find(host)).toMatchObject({ username: 'env', source: regFile });
  const given = path.join(work, 'given.json');
  writeJson(given, entry('given'));
  expect(await find(host, undefined, { authfile: given })).toMatchObject({ username: 'given', source: given });
  expect(await find(host, undefined, { authfile: given, creds: 'cli:pw:with:colons' })).toEqual({ username: 'cli', password: 'pw:with:colons', source: '--creds' });
  // a file that does not know the host passes it on to the next
  expect(await find('other.example', undefined, { authfile: given })).toBeUndefined();
  // $DOCKER_CONFIG replaces ~/.docker
  fs.rmSync(path.join(env.XDG_RUNTIME_DIR!, 'containers/auth.json'));
  fs.rmSync(path.join(env.HOME!, '.config/containers/auth.json'));
  delete env.REGISTRY_AUTH_FILE;
  writeJson(path.join(work, 'dc/config.json'), entry('dockerconfig'));
  env.DOCKER_CONFIG = path.join(work, 'dc');
  expect(await find(host)).toMatchObject({ username: 'dockerconfig' });
});

test('keys: per repository, most specific first; docker URL keys; Docker Hub by any of its names', async () => {
  const file = path.join(work, 'a.json');
  writeJson(file, {
    auths: {
      'r.example': { auth: b64('host:1') },
      'r.example/team': { auth: b64('team:2') },
      'r.example/team/app': { auth: b64('app:3') },
      'http://legacy.example:5000/v1/': { auth: b64('legacy:4') },
      'https://index.docker.io/v1/': { auth: b64('hub:5') },
    },
  });
  const u = async (host: string, repo?: string) => (await find(host, repo, { authfile: file }))?.username;
  expect(await u('r.example', 'team/app')).toBe('app');
  expect(await u('r.example', 'team/other')).toBe('team');
  expect(await u('r.example', 'solo')).toBe('host');
  expect(await u('legacy.example:5000')).toBe('legacy');
  for (const hub of ['docker.io', 'registry-1.docker.io', 'index.docker.io']) expect(await u(hub, 'library/alpine')).toBe('hub');
  expect(normalizeKey('https://registry-1.docker.io/v2/')).toBe('docker.io');
});

test('identitytoken comes back as an identity token, with the username beside it', async () => {
  writeJson(path.join(env.HOME!, '.docker/config.json'), { auths: { 'r.example': { auth: b64('me:'), identitytoken: 'refresh-9' } } });
  expect(await find('r.example')).toMatchObject({ identityToken: 'refresh-9', username: 'me' });
});

test('credHelpers before auths, credsStore after them; the helper is asked for the host (Hub: its v1 URL)', async () => {
  const cfg = path.join(env.HOME!, '.docker/config.json');
  writeJson(cfg, { auths: { 'helper.example': { auth: b64('file:f') }, 'plain.example': { auth: b64('plain:p') } }, credHelpers: { 'helper.example': 'test', 'docker.io': 'test' }, credsStore: 'test' });
  expect(await find('helper.example')).toEqual({ username: 'hu', password: 'hp', source: 'docker-credential-test' });
  expect(await find('registry-1.docker.io', 'library/alpine')).toMatchObject({ username: 'hub', password: 'hubp' });
  // auths answers before credsStore is asked
  expect(await find('plain.example')).toMatchObject({ username: 'plain' });
  // credsStore: the helper for the rest; "<token>" means an identity token
  expect(await find('tok.example')).toEqual({ identityToken: 'refresh-1', source: 'docker-credential-test' });
  expect(await find('nobody.example')).toBeUndefined();
  expect(helper.calls().map((c) => [c.verb, c.input])).toEqual([
    ['get', 'helper.example'],
    ['get', 'https://index.docker.io/v1/'],
    ['get', 'tok.example'],
    ['get', 'nobody.example'],
  ]);
  expect(warnings).toEqual([]);
});

test('a helper that is not installed: a warning, and the next source (or anonymous access)', async () => {
  writeJson(path.join(env.XDG_RUNTIME_DIR!, 'containers/auth.json'), { credHelpers: { 'r.example': 'missing' } });
  expect(await find('r.example')).toBeUndefined();
  expect(warnings).toEqual([expect.stringContaining('docker-credential-missing')]);
  writeJson(path.join(env.HOME!, '.docker/config.json'), { auths: { 'r.example': { auth: b64('next:n') } } });
  expect(await find('r.example')).toMatchObject({ username: 'next' });
});

test('a helper that fails otherwise is an error naming it', async () => {
  fs.writeFileSync(path.join(helper.bin, 'docker-credential-broken'), '#!/bin/sh\necho "keychain locked" >&2\nexit 3\n', { mode: 0o755 });
  writeJson(path.join(env.HOME!, '.docker/config.json'), { credsStore: 'broken' });
  await expect(find('r.example')).rejects.toMatchObject({ code: 'LAYERFS_CREDENTIAL_HELPER', message: expect.stringContaining('keychain locked') });
});

test('bad input: a file that is not JSON, an auth that is not USER:PASS, --creds without a password', async () => {
  const file = path.join(work, 'bad.json');
  fs.writeFileSync(file, '{"auths": ');
  await expect(find('r.example', undefined, { authfile: file })).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT', message: expect.stringContaining(file) });
  writeJson(file, { auths: { 'r.example': { auth: b64('nocolon') } } });
  await expect(find('r.example', undefined, { authfile: file })).rejects.toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT', message: expect.stringContaining('r.example') });
  expect(() => parseCreds('useronly')).toThrow(expect.objectContaining({ code: 'LAYERFS_INVALID_ARGUMENT' }));
  expect(() => parseCreds(':pw')).toThrow(expect.objectContaining({ code: 'LAYERFS_INVALID_ARGUMENT' }));
  expect(parseCreds('u:')).toMatchObject({ username: 'u', password: '' });
});

import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { layerfs } from '../../cli/run-cli';
import { findCredentials } from '../../../lib/registry/auth/credentials';
import { describeIf, hasTool } from '../../fixtures/peers';
import { certDir, makePki } from './pki';
import { makeFakeHelper } from './fake-helper';
import { startRegistry, type RegistryServer as RunningRegistry } from '../registry-server';

/*
 * `layerfs login` / `logout` against docker-registry over TLS with htpasswd: the credentials are
 * checked before they are kept, the file is podman's and docker's format (podman reads it back),
 * written 0600 in one rename, and everything else in it survives.
 */

describeIf(['docker-registry', 'openssl', 'htpasswd'])('login and logout', () => {
  let work: string;
  let reg: RunningRegistry;
  let certs: string;
  let env: NodeJS.ProcessEnv;
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const run = (args: string[], input?: string) => layerfs(args, { env, input });

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-regauth-login-'));
    const pki = makePki(path.join(work, 'pki'));
    reg = await startRegistry({ tls: { certificate: pki.serverCert, key: pki.serverKey }, htpasswd: { alice: 'wonderland' } });
    certs = certDir(path.join(work, 'certs'), pki, false);
    env = { HOME: path.join(work, 'home'), XDG_RUNTIME_DIR: path.join(work, 'run'), LAYERFS_CERTS_D: path.join(work, 'certs.d'), REGISTRY_AUTH_FILE: '', DOCKER_CONFIG: '' };
  });
  afterAll(async () => {
    await reg?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('wrong password: exit 1, LAYERFS_REGISTRY_UNAUTHORIZED, nothing written', () => {
    const r = run(['--json', 'login', reg.host, '-u', 'alice', '--password-stdin', '--cert-dir', certs], 'wrong\n');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'LAYERFS_REGISTRY_UNAUTHORIZED', registryCode: 'UNAUTHORIZED', status: 401 });
    expect(fs.existsSync(path.join(work, 'run/containers/auth.json'))).toBe(false);
  });

  test('an untrusted certificate: exit 1, the message names --cert-dir and --tls-verify', () => {
    const r = run(['login', reg.host, '-u', 'alice', '-p', 'wonderland']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--cert-dir/);
    expect(r.stderr).toMatch(/--tls-verify=false/);
  });

  test('no password and no terminal: a usage error that says what to give', () => {
    const r = run(['login', reg.host, '-u', 'alice', '--cert-dir', certs], '');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--password-stdin/);
  });

  test('login, then logout: $XDG_RUNTIME_DIR/containers/auth.json, 0600, podman reads it', () => {
    const file = path.join(work, 'run/containers/auth.json');
    const r = run(['--json', 'login', reg.host, '-u', 'alice', '--password-stdin', '--cert-dir', certs], 'wonderland\n');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(r.stdout)).toEqual({ registry: reg.host, key: reg.host, file });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ auths: { [reg.host]: { auth: b64('alice:wonderland') } } });
    // no temporary file is left beside it
    expect(fs.readdirSync(path.dirname(file))).toEqual(['auth.json']);
    if (hasTool('podman')) {
      const p = spawnSync('podman', ['login', '--get-login', '--authfile', file, reg.host], { encoding: 'utf8' });
      expect(p.stdout.trim()).toBe('alice');
    }
    const out = run(['logout', reg.host]);
    expect({ code: out.code, stdout: out.stdout }).toEqual({ code: 0, stdout: `Removed login credentials for ${reg.host}\n` });
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ auths: {} });
    const again = run(['--json', 'logout', reg.host]);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout).error.code).toBe('LAYERFS_NOT_FOUND');
  });

  test('a docker config.json given with --authfile: its other contents are kept, and the key replaces older spellings', async () => {
    const file = path.join(work, 'docker/config.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ auths: { [`https://${reg.host}/v1/`]: { auth: b64('old:old') }, 'other.example': { auth: b64('o:o') } }, HttpHeaders: { 'User-Agent': 'x' } }), { mode: 0o644 });
    const r = run(['login', reg.host, '-u', 'alice', '-p', 'wonderland', '--cert-dir', certs, '--authfile', file]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: 'Login Succeeded!\n' });
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ auths: { [reg.host]: { auth: b64('alice:wonderland') }, 'other.example': { auth: b64('o:o') } }, HttpHeaders: { 'User-Agent': 'x' } });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(await findCredentials(reg.host, undefined, { authfile: file, env: {} })).toMatchObject({ username: 'alice', password: 'wonderland' });
    expect(run(['logout', reg.host, '--authfile', file]).code).toBe(0);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).auths).toEqual({ 'other.example': { auth: b64('o:o') } });
  });

  test('a file that names a credential helper for the host: the helper keeps them', () => {
    const helper = makeFakeHelper(path.join(work, 'helper'));
    const file = path.join(work, 'helper/auth.json');
    fs.writeFileSync(file, JSON.stringify({ credHelpers: { [reg.host]: 'test' } }));
    const henv = { ...env, PATH: `${helper.bin}:${process.env.PATH}` };
    const r = layerfs(['--json', 'login', reg.host, '-u', 'alice', '--password-stdin', '--cert-dir', certs, '--authfile', file], { env: henv, input: 'wonderland' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ helper: 'test' });
    expect(JSON.parse(fs.readFileSync(helper.store, 'utf8'))).toEqual({ [reg.host]: { Username: 'alice', Secret: 'wonderland' } });
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ credHelpers: { [reg.host]: 'test' } });
    expect(layerfs(['logout', reg.host, '--authfile', file], { env: henv }).code).toBe(0);
    expect(JSON.parse(fs.readFileSync(helper.store, 'utf8'))).toEqual({});
    expect(helper.calls().map((c) => c.verb)).toEqual(['store', 'erase']);
  });

  test('logout --all empties auths and keeps the rest of the file', () => {
    const file = path.join(work, 'all/auth.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ auths: { 'a.example': { auth: b64('a:a') }, 'b.example/ns': { auth: b64('b:b') } }, credHelpers: { 'c.example': 'test' } }));
    const r = run(['--json', 'logout', '--all', '--authfile', file]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ file, removed: ['a.example', 'b.example/ns'] });
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ auths: {}, credHelpers: { 'c.example': 'test' } });
    expect(run(['logout', '--all', '--authfile', path.join(work, 'all/none.json')]).code).toBe(0);
  });

  test('bad registry names are usage errors', () => {
    for (const bad of ['', 'a b', '/x', 'host@sha256:ab']) {
      const r = run(['--json', 'logout', bad]);
      expect({ bad, code: r.code }).toEqual({ bad, code: 2 });
    }
  });
});

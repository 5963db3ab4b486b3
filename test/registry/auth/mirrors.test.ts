import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadRegistriesConf, mirrorsFor, registriesConfPaths, type RefLike } from '../../../lib/registry/config/mirrors';

/* registries.conf as containers/image reads it: which file, drop-ins, prefixes, mirrors and their filters. */

let work: string;
let env: NodeJS.ProcessEnv;
const conf = (name: string, text: string) => {
  const f = path.join(work, name);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, text);
  return f;
};
const ends = (ref: RefLike) => mirrorsFor(ref, { env }).map((e) => `${e.host} ${e.repository}${e.tag ? ':' + e.tag : ''}${e.digest ? '@' + e.digest.slice(0, 10) : ''}${e.insecure ? ' insecure' : ''}${e.mirror ? ' mirror' : ''}`);
const digest = 'sha256:' + 'ab'.repeat(32);

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-regauth-mirrors-'));
  env = { HOME: path.join(work, 'home'), LAYERFS_REGISTRIES_CONF_D: path.join(work, 'conf.d') };
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

test('which file: $CONTAINERS_REGISTRIES_CONF, else ~/.config/containers/registries.conf if there, else /etc', () => {
  expect(registriesConfPaths({ HOME: '/h' }).file).toBe('/etc/containers/registries.conf');
  expect(registriesConfPaths({ HOME: '/h' }).dropIns).toEqual(['/etc/containers/registries.conf.d', '/h/.config/containers/registries.conf.d']);
  conf('home/.config/containers/registries.conf', '');
  expect(registriesConfPaths(env).file).toBe(path.join(work, 'home/.config/containers/registries.conf'));
  expect(registriesConfPaths({ ...env, CONTAINERS_REGISTRIES_CONF: '/x.conf' }).file).toBe('/x.conf');
});

test('no entry: the registry itself, Docker Hub at its API host', () => {
  env.CONTAINERS_REGISTRIES_CONF = conf('none.conf', 'unqualified-search-registries = ["docker.io"]\n');
  expect(ends({ domain: 'docker.io', repository: 'library/alpine', tag: 'latest' })).toEqual(['registry-1.docker.io library/alpine:latest']);
  expect(ends({ domain: 'r.example:5000', repository: 'a/b', digest })).toEqual([`r.example:5000 a/b@${digest.slice(0, 10)}`]);
});

test('mirrors in order, then the registry; the prefix is rewritten to each location', () => {
  env.CONTAINERS_REGISTRIES_CONF = conf(
    'r.conf',
    `
[[registry]]
prefix = "docker.io"
location = "docker.io"
[[registry.mirror]]
location = "mirror-a.local:5000/hub"
[[registry.mirror]]
location = "mirror-b.local"
insecure = true

[[registry]]
prefix = "docker.io/library/busybox"
location = "internal.local/base/busybox"
insecure = true
`,
  );
  expect(ends({ domain: 'docker.io', repository: 'library/alpine', tag: '3' })).toEqual([
    'mirror-a.local:5000 hub/library/alpine:3 mirror',
    'mirror-b.local library/alpine:3 insecure mirror',
    'registry-1.docker.io library/alpine:3',
  ]);
  // the longest prefix wins, and brings its own (no) mirrors
  expect(ends({ domain: 'docker.io', repository: 'library/busybox', tag: 'latest' })).toEqual(['internal.local base/busybox:latest insecure']);
  // a prefix matches at a component boundary only
  expect(ends({ domain: 'docker.io', repository: 'library/busyboxer', tag: 'latest' })[2]).toBe('registry-1.docker.io library/busyboxer:latest');
});

test('pull-from-mirror and mirror-by-digest-only choose by the reference: digest or tag', () => {
  env.CONTAINERS_REGISTRIES_CONF = conf(
    'r.conf',
    `
[[registry]]
location = "r.example"
[[registry.mirror]]
location = "digests.local"
pull-from-mirror = "digest-only"
[[registry.mirror]]
location = "tags.local"
pull-from-mirror = "tag-only"
[[registry.mirror]]
location = "all.local"

[[registry]]
location = "strict.example"
mirror-by-digest-only = true
[[registry.mirror]]
location = "m.local"
`,
  );
  expect(ends({ domain: 'r.example', repository: 'x', tag: 't' })).toEqual(['tags.local x:t mirror', 'all.local x:t mirror', 'r.example x:t']);
  expect(ends({ domain: 'r.example', repository: 'x', digest })).toEqual([`digests.local x@${digest.slice(0, 10)} mirror`, `all.local x@${digest.slice(0, 10)} mirror`, `r.example x@${digest.slice(0, 10)}`]);
  expect(ends({ domain: 'strict.example', repository: 'x', tag: 't' })).toEqual(['strict.example x:t']);
  expect(ends({ domain: 'strict.example', repository: 'x', digest })).toHaveLength(2);
});

test('a wildcard prefix covers the hosts under a domain; an exact prefix beats it', () => {
  env.CONTAINERS_REGISTRIES_CONF = conf(
    'r.conf',
    `
[[registry]]
prefix = "*.corp.example"
[[registry.mirror]]
location = "cache.local/corp"

[[registry]]
location = "special.corp.example"
`,
  );
  expect(ends({ domain: 'a.corp.example', repository: 'team/app', tag: 'v1' })).toEqual(['cache.local corp/team/app:v1 mirror', 'a.corp.example team/app:v1']);
  expect(ends({ domain: 'special.corp.example', repository: 'app', tag: 'v1' })).toEqual(['special.corp.example app:v1']);
  expect(ends({ domain: 'corp.example', repository: 'app', tag: 'v1' })).toEqual(['corp.example app:v1']);
});

test('drop-ins are read after the file, in name order; one of the same prefix replaces the earlier', () => {
  env.CONTAINERS_REGISTRIES_CONF = conf('main.conf', '[[registry]]\nlocation = "r.example"\n[[registry.mirror]]\nlocation = "old.local"\n');
  conf('conf.d/20-b.conf', '[[registry]]\nlocation = "r.example"\n[[registry.mirror]]\nlocation = "new.local"\n');
  conf('conf.d/10-a.conf', '[[registry]]\nlocation = "r.example"\n[[registry.mirror]]\nlocation = "mid.local"\n');
  conf('conf.d/ignored.txt', 'not toml at all [[[');
  expect(ends({ domain: 'r.example', repository: 'x', tag: 't' })).toEqual(['new.local x:t mirror', 'r.example x:t']);
  expect(loadRegistriesConf({ env }).files.map((f) => path.basename(f))).toEqual(['main.conf', '10-a.conf', '20-b.conf']);
});

test('blocked: LAYERFS_REGISTRY_BLOCKED naming the prefix', () => {
  env.CONTAINERS_REGISTRIES_CONF = conf('r.conf', '[[registry]]\nprefix = "evil.example"\nlocation = "evil.example"\nblocked = true\n');
  expect(() => mirrorsFor({ domain: 'evil.example', repository: 'x', tag: 't' }, { env })).toThrow(expect.objectContaining({ code: 'LAYERFS_REGISTRY_BLOCKED', message: expect.stringContaining('evil.example') }));
});

test.each([
  ['not TOML', '[[registry]\n', /not valid TOML/],
  ['a table where an array of tables belongs', '[registry]\nlocation = "x"\n', /array of tables/],
  ['neither prefix nor location', '[[registry]]\ninsecure = true\n', /neither prefix nor location/],
  ['insecure that is no boolean', '[[registry]]\nlocation = "x"\ninsecure = "yes"\n', /insecure must be true or false/],
  ['a mirror without location', '[[registry]]\nlocation = "x"\n[[registry.mirror]]\ninsecure = true\n', /mirror #1 has no location/],
  ['a pull-from-mirror that is not one', '[[registry]]\nlocation = "x"\n[[registry.mirror]]\nlocation = "m"\npull-from-mirror = "sometimes"\n', /pull-from-mirror/],
  ['a bad wildcard', '[[registry]]\nprefix = "a.*.example"\n', /wildcard/],
])('bad registries.conf: %s is LAYERFS_INVALID_ARGUMENT naming the file', (_n, text, why) => {
  const f = conf('bad.conf', text);
  env.CONTAINERS_REGISTRIES_CONF = f;
  let err: any;
  try {
    mirrorsFor({ domain: 'x', repository: 'y', tag: 't' }, { env });
  } catch (e) {
    err = e;
  }
  expect(err).toMatchObject({ code: 'LAYERFS_INVALID_ARGUMENT' });
  expect(err.message).toContain(f);
  expect(err.message).toMatch(why);
});

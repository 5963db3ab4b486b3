import { parseChallenges } from '../../../lib/registry/auth/challenge';
import { RegistryAuth, checkRealm } from '../../../lib/registry/auth/provider';
import { covers, scopeSet, scopeStrings } from '../../../lib/registry/auth/scope';

/* WWW-Authenticate as registries send it (distribution, Docker Hub, ghcr, quay, ECR, Harbor) and as RFC 7235 allows it. */

describe('parseChallenges', () => {
  test.each<[string, ReturnType<typeof parseChallenges>]>([
    ['Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"', [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' } }]],
    ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    // two challenges in one header; the comma inside a quoted value is not a separator
    ['Basic realm="a, b", Bearer realm="https://t/x",service=s', [{ scheme: 'basic', params: { realm: 'a, b' } }, { scheme: 'bearer', params: { realm: 'https://t/x', service: 's' } }]],
    // escapes in a quoted string, spaces around '=', the scheme's case
    ['BEARER  realm = "https://t/\\"q\\"" , error="insufficient_scope",scope="repository:a:pull,push repository:b:pull"', [{ scheme: 'bearer', params: { realm: 'https://t/"q"', error: 'insufficient_scope', scope: 'repository:a:pull,push repository:b:pull' } }]],
    // token68, then another challenge
    ['Negotiate abc+/==, Basic realm=x', [{ scheme: 'negotiate', params: {}, token68: 'abc+/==' }, { scheme: 'basic', params: { realm: 'x' } }]],
    // a scheme alone, empty items, a parameter name in capitals
    ['Bearer, , Basic Realm="r"', [{ scheme: 'bearer', params: {} }, { scheme: 'basic', params: { realm: 'r' } }]],
    ['', []],
    // an unterminated quote: what came before it is kept, nothing is made up
    ['Bearer realm="https://t/x", service="open', [{ scheme: 'bearer', params: { realm: 'https://t/x' } }]],
  ])('%s', (header, want) => {
    expect(parseChallenges(header)).toEqual(want);
  });

  test('the first of a repeated parameter wins', () => {
    expect(parseChallenges('Bearer realm="https://a",realm="https://b"')[0].params.realm).toBe('https://a');
  });
});

describe('scopes', () => {
  test('merged per resource, actions sorted, names with colons kept', () => {
    const s = scopeSet(['repository:a:push', 'repository:a:pull', 'repository:host.x:5000/b:pull', 'registry:catalog:*']);
    expect(scopeStrings(s)).toEqual(['registry:catalog:*', 'repository:a:pull,push', 'repository:host.x:5000/b:pull']);
    expect(covers(s, scopeSet(['repository:a:pull']))).toBe(true);
    expect(covers(scopeSet(['repository:a:pull']), s)).toBe(false);
  });
});

describe('realms', () => {
  test('https anywhere; http only on the registry host itself', () => {
    expect(checkRealm('registry.example:5000', 'https://auth.example/token').href).toBe('https://auth.example/token');
    expect(checkRealm('127.0.0.1:5000', 'http://127.0.0.1:5001/token').port).toBe('5001');
    expect(() => checkRealm('127.0.0.1:5000', 'http://localhost:5001/token')).toThrow(expect.objectContaining({ code: 'LAYERFS_REGISTRY_INSECURE_REALM' }));
    expect(() => checkRealm('r.example', 'ftp://r.example/token')).toThrow(expect.objectContaining({ code: 'LAYERFS_REGISTRY_INSECURE_REALM' }));
    expect(() => checkRealm('r.example', 'not a url')).toThrow(expect.objectContaining({ code: 'LAYERFS_REGISTRY_PROTOCOL' }));
  });

  test('challenged() refuses such a realm before any request carries credentials', async () => {
    let asked = 0;
    const auth = new RegistryAuth({
      credentials: async () => ({ username: 'u', password: 'p' }),
      dispatcherFor: () => {
        asked++;
        throw new Error('no request may be made');
      },
    });
    await expect(auth.challenged('127.0.0.1:5000', [], 'Bearer realm="http://203.0.113.9/token"')).rejects.toMatchObject({ code: 'LAYERFS_REGISTRY_INSECURE_REALM' });
    expect(asked).toBe(0);
  });

  test('Basic: credentials once; a second challenge after sending them is final', async () => {
    const auth = new RegistryAuth({ credentials: async () => ({ username: 'u', password: 'p' }), dispatcherFor: () => { throw new Error('no token requests for Basic'); } });
    expect(await auth.header('h', [])).toBeUndefined();
    expect(await auth.challenged('h', [], 'Basic realm="r"')).toBe(true);
    expect(await auth.header('h', [])).toBe('Basic ' + Buffer.from('u:p').toString('base64'));
    expect(await auth.challenged('h', [], 'Basic realm="r"')).toBe(false);
    const anonymous = new RegistryAuth({ dispatcherFor: () => { throw new Error('none'); } });
    expect(await anonymous.challenged('h', [], 'Basic realm="r"')).toBe(false);
    expect(await anonymous.challenged('h', [], 'Digest realm="r"')).toBe(false);
  });
});

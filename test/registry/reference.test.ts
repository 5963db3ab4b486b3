import { familiarReference, formatReference, parseReference } from '../../lib/registry';

describe('image references, normalised as docker does', () => {
  test.each([
    ['alpine', 'docker.io', 'registry-1.docker.io', 'library/alpine', 'latest', undefined],
    ['alpine:3.20', 'docker.io', 'registry-1.docker.io', 'library/alpine', '3.20', undefined],
    ['docker://alpine', 'docker.io', 'registry-1.docker.io', 'library/alpine', 'latest', undefined],
    ['user/app:v1', 'docker.io', 'registry-1.docker.io', 'user/app', 'v1', undefined],
    ['docker.io/alpine', 'docker.io', 'registry-1.docker.io', 'library/alpine', 'latest', undefined],
    ['index.docker.io/library/alpine', 'docker.io', 'registry-1.docker.io', 'library/alpine', 'latest', undefined],
    ['localhost/app', 'localhost', 'localhost', 'app', 'latest', undefined],
    ['localhost:5000/app:1', 'localhost:5000', 'localhost:5000', 'app', '1', undefined],
    ['127.0.0.1:5000/a/b/c:t', '127.0.0.1:5000', '127.0.0.1:5000', 'a/b/c', 't', undefined],
    ['quay.io/org/app', 'quay.io', 'quay.io', 'org/app', 'latest', undefined],
    ['Host/app', 'Host', 'Host', 'app', 'latest', undefined],
    ['[::1]:5000/app', '[::1]:5000', '[::1]:5000', 'app', 'latest', undefined],
    ['myhost:5000/app@sha256:' + 'a'.repeat(64), 'myhost:5000', 'myhost:5000', 'app', undefined, 'sha256:' + 'a'.repeat(64)],
    ['app:v2@sha256:' + 'b'.repeat(64), 'docker.io', 'registry-1.docker.io', 'library/app', 'v2', 'sha256:' + 'b'.repeat(64)],
    // a first component without . or : and not localhost is a path, not a host
    ['myhost/app', 'docker.io', 'registry-1.docker.io', 'myhost/app', 'latest', undefined],
  ])('%s', (input, domain, host, repository, tag, digest) => {
    expect(parseReference(input)).toEqual({ domain, host, repository, tag, digest });
  });

  test.each([
    ['', 'empty'],
    ['Alpine', 'lower-case'],
    ['alpine:', 'not a valid tag'],
    ['alpine:-x', 'not a valid tag'],
    ['alpine@sha256:abc', 'not a sha256 digest'],
    ['quay.io/', 'names no repository'],
    ['a//b', 'repository component'],
    ['foo_-bar/x', 'repository component'],
    ['bad_host.io:x:y/app', 'not a valid'],
    ['localhost:5000/' + 'a'.repeat(250), 'longer than 255'],
  ])('refuses %j, saying why', (input, why) => {
    expect(() => parseReference(input)).toThrow(expect.objectContaining({ code: 'LAYERFS_INVALID_ARGUMENT', message: expect.stringContaining(why) }));
  });

  test('formats the full and the familiar name', () => {
    expect(formatReference(parseReference('alpine'))).toBe('docker.io/library/alpine:latest');
    expect(familiarReference(parseReference('docker.io/library/alpine:3'))).toBe('alpine:3');
    expect(familiarReference(parseReference('user/app'))).toBe('user/app:latest');
    expect(familiarReference(parseReference('localhost:5000/app:1'))).toBe('localhost:5000/app:1');
  });
});

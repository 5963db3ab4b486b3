import { credsWithPassword, parseBool, registryFlags } from '../../lib/cli/registry-flags';

/* The registry flags as podman and skopeo spell them. */

test('--tls-verify takes true or false; bare it is true', () => {
  expect(parseBool('--tls-verify')('false')).toBe(false);
  expect(parseBool('--tls-verify')('TRUE')).toBe(true);
  expect(() => parseBool('--tls-verify')('maybe')).toThrow(expect.objectContaining({ code: 'LAYERFS_USAGE', message: expect.stringContaining('--tls-verify') }));
  expect(registryFlags({ tlsVerify: true }).tlsVerify).toBe(true);
  expect(registryFlags({}).tlsVerify).toBe(true);
  expect(registryFlags({ tlsVerify: false, certDir: '/d', creds: 'u:p', authfile: '/a' })).toEqual({ tlsVerify: false, certDir: '/d', creds: 'u:p', authfile: '/a' });
});

test('--creds USER:PASS passes; USER alone asks on a terminal, and without one says so', async () => {
  expect(await credsWithPassword(undefined)).toBeUndefined();
  expect(await credsWithPassword('u:p:q')).toBe('u:p:q');
  // jest's stdin is no terminal
  await expect(credsWithPassword('u')).rejects.toMatchObject({ code: 'LAYERFS_USAGE', message: expect.stringContaining('no terminal') });
  await expect(credsWithPassword('')).rejects.toMatchObject({ code: 'LAYERFS_USAGE' });
});

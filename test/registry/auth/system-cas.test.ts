import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Registry } from '../../../lib/registry';
import { registryAccess } from '../../../lib/registry/config';
import { describeIf } from '../../fixtures/peers';
import { startRegistry, type RegistryServer } from '../registry-server';
import { makePki } from './pki';

/*
 * The system's CAs are trusted, not only Node's bundled roots: a CA in the distribution's bundle
 * (here $SSL_CERT_FILE, which Go's crypto/x509 reads too, standing for a CA installed with
 * update-ca-certificates) lets us reach a registry without --cert-dir. The bundle is read once
 * per process, so this file sets it before anything reads it.
 */

describeIf(['docker-registry', 'openssl'])('system CAs', () => {
  let work: string;
  let reg: RegistryServer;
  let client: Registry | undefined;
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-regauth-sysca-'));
    const pki = makePki(path.join(work, 'pki'));
    process.env.SSL_CERT_FILE = pki.caCert;
    reg = await startRegistry({ tls: { certificate: pki.serverCert, key: pki.serverKey } });
  });
  afterAll(async () => {
    delete process.env.SSL_CERT_FILE;
    await client?.close();
    await reg?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('a CA of the system bundle is trusted without --cert-dir', async () => {
    client = new Registry(reg.host, { ...registryAccess({ env: { HOME: path.join(work, 'home'), LAYERFS_CERTS_D: path.join(work, 'none') } }), retries: 1 });
    await expect(client.ping()).resolves.toBeUndefined();
  });
});

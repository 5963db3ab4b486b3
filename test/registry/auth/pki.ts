import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/**
 * Certificates made by openssl for a test: a CA, a server certificate for 127.0.0.1 and
 * localhost signed by it, and a client certificate signed by it. One day of validity; keys are
 * RSA 2048, unencrypted. Each file is PEM, in `dir`.
 */
export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA and a certificate it signs (`name`.crt, `name`.key), for the subject and SANs given. */
export function makeCa(dir: string, cn = 'layerfs test CA'): { cert: string; key: string } {
  fs.mkdirSync(dir, { recursive: true });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', `/CN=${cn}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  return { cert: path.join(dir, 'ca.crt'), key: path.join(dir, 'ca.key') };
}

export function signCert(dir: string, name: string, cn: string, ext: string): { cert: string; key: string } {
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`], dir);
  return { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

export function makePki(dir: string): Pki {
  const ca = makeCa(dir);
  const server = signCert(dir, 'server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  const client = signCert(dir, 'client', 'layerfs test client', 'extendedKeyUsage=clientAuth\n');
  return { dir, caCert: ca.cert, caKey: ca.key, serverCert: server.cert, serverKey: server.key, clientCert: client.cert, clientKey: client.key };
}

/** A self-signed certificate and key for a token issuer (the registry's rootcertbundle), and its DER for `x5c`. */
export function makeIssuerCert(dir: string): { cert: string; key: string; der: Buffer } {
  fs.mkdirSync(dir, { recursive: true });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'issuer.key', '-out', 'issuer.crt', '-days', '1', '-subj', '/CN=layerfs test token issuer'], dir);
  const pem = fs.readFileSync(path.join(dir, 'issuer.crt'), 'utf8');
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return { cert: path.join(dir, 'issuer.crt'), key: path.join(dir, 'issuer.key'), der };
}

/** A cert-dir as --cert-dir and certs.d want it: `ca.crt`, and `client.cert` + `client.key` when asked. */
export function certDir(dir: string, pki: Pki, withClient: boolean): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(pki.caCert, path.join(dir, 'ca.crt'));
  if (withClient) {
    fs.copyFileSync(pki.clientCert, path.join(dir, 'client.cert'));
    fs.copyFileSync(pki.clientKey, path.join(dir, 'client.key'));
  }
  return dir;
}

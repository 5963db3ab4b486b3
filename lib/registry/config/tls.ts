import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tls from 'tls';
import { InvalidArgumentError } from '../../errors';
import type { TlsOptions, ConnectSettings } from '../types';

/**
 * Whom we trust and who we are over TLS, per registry host, as containers/image and docker
 * decide it:
 * - `--cert-dir DIR` when given, else the first of `~/.config/containers/certs.d/HOST[:PORT]/`,
 *   `/etc/containers/certs.d/HOST[:PORT]/`, `/etc/docker/certs.d/HOST[:PORT]/` that exists
 *   (`$LAYERFS_CERTS_D`, a path list, replaces these roots: the tests use it);
 * - in it, `*.crt` files are CAs trusted beside the system's, and each `NAME.cert` with its
 *   `NAME.key` is a client certificate (one without the other is an error naming it);
 * - `--tls-verify=false` turns verification off, and allows plain HTTP.
 */

export interface TlsConfigOptions {
  /** --cert-dir */
  certDir?: string;
  /** --tls-verify; default true */
  tlsVerify?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** The certs.d roots looked in, in order. */
export function certsDRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.LAYERFS_CERTS_D) return env.LAYERFS_CERTS_D.split(path.delimiter).filter(Boolean);
  const home = env.HOME || os.homedir();
  return [path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'containers', 'certs.d'), '/etc/containers/certs.d', '/etc/docker/certs.d'];
}

/** The directory whose certificates apply to `host` (HOST[:PORT]), or undefined. */
export function certDirFor(host: string, opts: TlsConfigOptions = {}): string | undefined {
  if (opts.certDir) return opts.certDir;
  for (const root of certsDRoots(opts.env)) {
    const d = path.join(root, host);
    if (isDir(d)) return d;
  }
  return undefined;
}

export function tlsFor(host: string, opts: TlsConfigOptions = {}): TlsOptions {
  const out: TlsOptions = { verify: opts.tlsVerify !== false };
  const dir = certDirFor(host, opts);
  if (!dir) return out;
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch (e) {
    // a --cert-dir that is not there is a mistake; a certs.d entry that went away is not
    if (opts.certDir) throw new InvalidArgumentError(`--cert-dir ${dir}: ${(e as Error).message}`);
    return out;
  }
  const ca: Buffer[] = [];
  for (const n of names) {
    const f = path.join(dir, n);
    if (n.endsWith('.crt')) ca.push(fs.readFileSync(f));
    else if (n.endsWith('.cert')) {
      const key = f.slice(0, -'.cert'.length) + '.key';
      if (!fs.existsSync(key)) throw new InvalidArgumentError(`client certificate ${f} has no key ${path.basename(key)} beside it`);
      if (out.cert) throw new InvalidArgumentError(`${dir} holds more than one client certificate (${n}); keep one`);
      out.cert = fs.readFileSync(f);
      out.key = fs.readFileSync(key);
    } else if (n.endsWith('.key')) {
      const cert = f.slice(0, -'.key'.length) + '.cert';
      if (!fs.existsSync(cert)) throw new InvalidArgumentError(`client key ${f} has no certificate ${path.basename(cert)} beside it`);
    }
  }
  if (ca.length) out.ca = ca;
  return out;
}

/**
 * The system's CAs: Node's own roots and the distribution's bundle (what Go reads:
 * $SSL_CERT_FILE, else the first bundle found), so a CA installed with update-ca-certificates
 * is trusted as it is by skopeo and podman. Read once.
 */
let system: string[] | undefined;
export function systemCAs(env: NodeJS.ProcessEnv = process.env): string[] {
  if (system) return system;
  const bundles = env.SSL_CERT_FILE
    ? [env.SSL_CERT_FILE]
    : ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/ca-bundle.pem', '/etc/pki/tls/cacert.pem', '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', '/etc/ssl/cert.pem'];
  const out = [...tls.rootCertificates];
  for (const b of bundles) {
    try {
      out.push(fs.readFileSync(b, 'utf8'));
      break;
    } catch {
      // not this one
    }
  }
  return (system = out);
}

/** undici's `connect` options for TlsOptions, as the registry client derives them: Node's roots plus the extra CAs (proxyDispatcher adds the system bundle). */
export function connectSettings(t: TlsOptions): ConnectSettings {
  const out: ConnectSettings = { rejectUnauthorized: t.verify !== false };
  if (t.ca?.length) out.ca = [...tls.rootCertificates, ...t.ca];
  if (t.cert) out.cert = t.cert;
  if (t.key) out.key = t.key;
  return out;
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

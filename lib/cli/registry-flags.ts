import { Command, Option } from 'commander';
import { UsageError } from './usage';
import type { Platform } from '../oci/platform';
import { lazy } from '../lazy';

const platformModule = lazy<typeof import('../oci/platform')>(() => require('../oci/platform'));
const promptModule = lazy<typeof import('./prompt')>(() => require('./prompt'));

/**
 * The registry flags, spelled as skopeo and podman spell them, for every command that talks
 * to a registry (login, logout, pull, push, copy):
 *   --authfile FILE, --creds USER:PASS, --cert-dir DIR, --tls-verify[=false].
 */

export interface RegistryFlags {
  authfile?: string;
  creds?: string;
  certDir?: string;
  /** false: no verification, and plain HTTP allowed */
  tlsVerify: boolean;
}

/** `--tls-verify`, `--tls-verify=true`, `--tls-verify=false`, as podman takes them. */
export function parseBool(flag: string): (value: string) => boolean {
  return (value) => {
    if (/^(true|1|yes)$/i.test(value)) return true;
    if (/^(false|0|no)$/i.test(value)) return false;
    throw new UsageError(`${flag} takes true or false, not ${JSON.stringify(value)}`);
  };
}

export function addTlsFlags(cmd: Command): Command {
  return cmd
    .option('--cert-dir <dir>', 'CAs (*.crt) and client certificates (*.cert with *.key) for the registry (default: certs.d/HOST[:PORT] under ~/.config/containers, /etc/containers, /etc/docker)')
    .option('--tls-verify [bool]', 'verify the registry\'s certificate; --tls-verify=false also allows plain HTTP', parseBool('--tls-verify'), true);
}

export function addAuthFlags(cmd: Command): Command {
  return cmd
    .option('--authfile <file>', 'the auth file (default: $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, then docker\'s config.json)')
    .option('--creds <user:password>', 'credentials for the registry');
}

/** `--jobs N`: how many blobs move at once. */
export function jobsFlag(s: string): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < 1 || n > 64) throw new UsageError(`--jobs: ${JSON.stringify(s)} is not a number of blobs from 1 to 64`);
  return n;
}

/** Every flag of a command that moves images (pull, push, copy): auth, TLS and --jobs. */
export function addTransferFlags(cmd: Command): Command {
  return addAuthFlags(addTlsFlags(cmd)).addOption(new Option('--jobs <n>', 'blobs moved at once (default: 4 uploads for a push, 2 layers applied at once for a pull, as image import)').argParser(jobsFlag));
}

/** `--platform`, read as containerd reads it; a bad one is a usage error. */
export function platformFlag(s: string): Platform {
  const { parsePlatform } = platformModule();
  try {
    return parsePlatform(s);
  } catch (e) {
    throw new UsageError(`--platform: ${(e as Error).message}`);
  }
}

/** The flags as commander parsed them (an option given bare is `true`). */
export function registryFlags(o: { authfile?: string; creds?: string; certDir?: string; tlsVerify?: boolean | string }): RegistryFlags {
  return { authfile: o.authfile, creds: o.creds, certDir: o.certDir, tlsVerify: o.tlsVerify !== false };
}

/**
 * `--creds USER` without `:PASSWORD` asks for the password on the terminal, as skopeo does
 * (no terminal: a usage error). Returns the flag as USER:PASSWORD, or undefined when not given.
 */
export async function credsWithPassword(creds: string | undefined): Promise<string | undefined> {
  if (creds === undefined || creds.includes(':')) return creds;
  if (!creds) throw new UsageError('--creds: the username is empty');
  const { prompt } = promptModule();
  return `${creds}:${await prompt('Password: ', true)}`;
}

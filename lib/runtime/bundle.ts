import * as fs from 'fs';
import * as path from 'path';
import type { ImageConfig } from '../oci/image-config';
import { RuntimeSpecOptions, runtimeSpec } from './spec';
import type { RuntimeSpec } from './types';

export interface BundleOptions extends Omit<RuntimeSpecOptions, 'binds' | 'rootPath'> {
  /** the host's resolver configuration, bound read-only over /etc/resolv.conf (null: none) */
  resolvConf?: string | null;
}

/**
 * Writes an OCI runtime bundle in `dir`: config.json (runtime-spec 1.0, root.path the absolute
 * `rootfs`) and the files bound over the container's /etc/hostname and /etc/hosts, which are
 * generated, so what the container writes there never reaches its layer. The host's
 * /etc/resolv.conf is bound read-only where it exists. `runc run --bundle DIR ID` runs it as it is.
 */
export function writeBundle(dir: string, rootfs: string, image: ImageConfig | undefined, opts: BundleOptions = {}): RuntimeSpec {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const hostname = opts.hostname ?? 'layerfs';
  const binds: Record<string, string> = {
    '/etc/hostname': writeFile(dir, 'hostname', `${hostname}\n`),
    '/etc/hosts': writeFile(dir, 'hosts', `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${hostname}\n`),
  };
  const resolv = opts.resolvConf === undefined ? '/etc/resolv.conf' : opts.resolvConf;
  if (resolv !== null && fs.existsSync(resolv)) binds['/etc/resolv.conf'] = fs.realpathSync(resolv);
  const spec = runtimeSpec(image, rootfs, { ...opts, hostname, binds, rootPath: path.resolve(rootfs) });
  writeFile(dir, 'config.json', JSON.stringify(spec, null, 2) + '\n');
  return spec;
}

/** Written beside and renamed over: a runtime reading the bundle never sees half a file. */
function writeFile(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o644 });
  fs.renameSync(tmp, file);
  return file;
}

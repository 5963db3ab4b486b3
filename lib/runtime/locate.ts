import * as fs from 'fs';
import * as path from 'path';
import { NotFoundError } from '../errors';

/** The runtimes layerfs knows by name, and the Debian package that brings each. */
const PACKAGES: Record<string, string> = { runc: 'runc', crun: 'crun' };

/** Where root's tools live even when PATH lacks them (runc is in /usr/sbin on Debian). */
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/**
 * The executable of an OCI runtime: a name (`runc`, `crun`) searched in PATH and the sbin
 * directories, or a path. A missing one is an error that names the package to install.
 */
export function locateRuntime(runtime = 'runc', env: NodeJS.ProcessEnv = process.env): string {
  if (runtime.includes('/')) {
    const p = path.resolve(runtime);
    if (isExecutable(p)) return p;
    throw new NotFoundError(runtime, `the OCI runtime ${runtime} does not exist or is not executable`);
  }
  const dirs = [...(env.PATH ?? '').split(':').filter(Boolean), ...SBIN];
  for (const d of dirs) {
    const p = path.join(d, runtime);
    if (isExecutable(p)) return p;
  }
  const pkg = PACKAGES[runtime];
  throw new NotFoundError(
    runtime,
    `the OCI runtime ${runtime} was not found in PATH or ${SBIN.join(', ')}` + (pkg ? `: install it (Debian: apt-get install ${pkg})` : ': pass its path with --runtime'),
  );
}

function isExecutable(p: string): boolean {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) return false;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

import * as path from 'path';
import * as userns from '../userns';
import { UserNamespaceError } from '../errors';
import { StorePaths, defaultStoreDir } from './paths';
import { makeStoreDir } from './private';
import { readJsonSync } from './records';
import type { StoreConfig } from './store-core';

/**
 * Where a command for this store must run, as this user:
 * - `here`: root, a store made without a user namespace, or a process already inside one
 *   (StoreCore.open then checks the store's recorded mapping against this process's);
 * - `namespace`: the store lives in a user namespace (or a new one can): run inside its holder;
 * - `off`: no namespace can be had (the reason is a warning); the store is made here, with the copy driver.
 */
export type NamespacePlan = { where: 'here' } | { where: 'off'; reason: string } | { where: 'namespace'; holder: userns.HolderRecord; nsenter: string; warnings: string[] };

/** Decides (and starts the holder when needed) for the store at `dir`; see NamespacePlan. */
export async function planStoreNamespace(dir?: string): Promise<NamespacePlan> {
  const root = path.resolve(dir ?? defaultStoreDir());
  if (process.geteuid?.() === 0 && !userns.inUserNamespace()) return { where: 'here' };
  if (userns.inUserNamespace()) return { where: 'here' };
  const paths = new StorePaths(root);
  let config: StoreConfig | null;
  try {
    config = readJsonSync<StoreConfig>(paths.configFile);
  } catch {
    return { where: 'here' }; // unreadable: opening it says why
  }
  // a store made before identities were recorded, or made without a namespace, stays as it is
  if (config && (!config.identity || userns.isIdentity(config.identity.uids))) return { where: 'here' };
  const facts = userns.detectRootless(root);
  const blocker = userns.namespaceBlocker(facts);
  if (blocker) {
    if (config) throw new UserNamespaceError(`the store ${root} lives in a user namespace, and none can be had now: ${blocker}`);
    return { where: 'off', reason: `${blocker}; containers use the copy driver, and the owners and devices of image files are kept in the user.rootlesscontainers and user.layerfs.device xattrs` };
  }
  const plan = userns.planMapping(facts);
  if (config?.identity && (!userns.sameMap(config.identity.uids, plan.uids) || !userns.sameMap(config.identity.gids, plan.gids))) {
    const mismatch = userns.identityMismatch(config.identity, { uid: facts.uid, gid: facts.gid, uids: plan.uids, gids: plan.gids });
    if (mismatch) throw new UserNamespaceError(mismatch);
  }
  makeStoreDir(root, root);
  let holder: userns.HolderRecord;
  try {
    holder = await userns.ensureHolder(root, facts, plan, (h) => userns.probeInside(facts.nsenter!, h, root));
  } catch (e) {
    if (config || !(e instanceof UserNamespaceError)) throw e;
    return { where: 'off', reason: `${e.message}; containers use the copy driver, and the owners and devices of image files are kept in the user.rootlesscontainers and user.layerfs.device xattrs` };
  }
  // the single mapping is said once, when the store is made with it
  return { where: 'namespace', holder, nsenter: facts.nsenter!, warnings: plan.warning && !config ? [plan.warning] : [] };
}

/**
 * For programs: run the rest of this program inside the store's user namespace. As an ordinary
 * user with a namespace to use, it runs this same program (process.execPath, execArgv, argv)
 * again inside, waits for it, and exits with its code: it never returns. Anywhere else it
 * returns (`here` or `off`), and the store can be opened in this process.
 */
export async function enterUserNamespace(dir?: string, opts: { onWarning?: (m: string) => void } = {}): Promise<'here' | 'off'> {
  const plan = await planStoreNamespace(dir);
  if (plan.where === 'off') opts.onWarning?.(`no user namespace: ${plan.reason}`);
  if (plan.where !== 'namespace') return plan.where;
  for (const w of plan.warnings) opts.onWarning?.(w);
  if (process.env[userns.REEXEC_ENV]) throw new UserNamespaceError(`re-executed into the user namespace of holder ${plan.holder.pid}, but not inside it`);
  const root = path.resolve(dir ?? defaultStoreDir());
  const code = await userns.runInside(plan.nsenter, plan.holder, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], { env: { ...process.env, [userns.REEXEC_ENV]: '1', [userns.ENTERED_ENV]: root } });
  process.exit(code);
}

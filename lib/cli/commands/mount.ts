import type { Command } from 'commander';
import type { CliContext } from '../context';
import { lazy } from '../../lazy';

const usernsModule = lazy<typeof import('../../userns')>(() => require('../../userns'));
// loads nothing of note: the store has it loaded already
import { inUserNamespace } from '../../userns/identity';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('mount')
    .description("mount a container's tree and print its path")
    .argument('<container>', 'container id, name or unique id prefix')
    .action((ref: string) => mount(ctx, ref));
}

/** `layerfs mount`: also run without commander by the fast path (lib/cli/fast-path.ts). */
export async function mount(ctx: CliContext, ref: string): Promise<void> {
  const store = await ctx.store();
  const c = await store.getContainer(ref);
  const p = await c.mount();
  // run from outside, this command ran again inside the store's user namespace: the mount is there only.
  // lib/userns (child_process, crypto: milliseconds of a short command) loads only inside a namespace
  if (c.mountPoint && inUserNamespace() && process.env[usernsModule().REEXEC_ENV]) ctx.warn(`${p} is mounted in the store's user namespace, and seen only there: use it through \`layerfs unshare\` (e.g. layerfs unshare ls ${p})`);
  // the mount specs are for --json only: text output is the path
  ctx.print(ctx.json ? { id: c.id, driver: c.driver, path: p, mounts: await c.mounts() } : null, () => p);
}

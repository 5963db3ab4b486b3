import type { Command } from 'commander';
import type { CliContext } from '../context';
import { DRIVER_CHOICES } from '../../types';
import type { DriverChoice } from '../../types';
import { progressBar } from '../progress';
import { resolveChainRef } from '../refs';

// from lib/types, which loads nothing: --help does not load the drivers
export { DRIVER_CHOICES };

export interface CreateFlags {
  driver: DriverChoice;
  name?: string;
  readOnly?: boolean;
  mount?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('create')
    .description('create a container (a writable layer) on a chain or image and print its id')
    .argument('<chainid-or-image>', 'ChainID of the top layer (a unique prefix will do), an imported image name or an image path, or "scratch" for no layers');
  cmd
    .addOption(cmd.createOption('--driver <driver>', 'overlay (kernel overlayfs), copy (a materialised copy), auto (overlay when it can mount)').choices([...DRIVER_CHOICES]).default('auto'))
    .option('--name <name>', 'a name to refer to the container by')
    .option('--read-only', 'a read-only view of the chain (nothing can be written)')
    .option('--mount', 'mount it too, and print its path on a second line (one command where `create` then `mount` would take two)')
    .action((chain: string, opts: CreateFlags) => create(ctx, chain, opts));
}

/** `layerfs create`: also run without commander by the fast path (lib/cli/fast-path.ts). */
export async function create(ctx: CliContext, chain: string, opts: CreateFlags): Promise<void> {
  const store = await ctx.store();
  const bar = progressBar('creating container');
  try {
    const c = await store.createContainer(await resolveChainRef(store, chain, { scratch: true, chain: true, imagePath: true }), { driver: opts.driver, name: opts.name, readOnly: opts.readOnly, onProgress: (p) => bar.update(p) });
    const root = opts.mount ? await c.mount() : undefined;
    bar.done();
    // the record with its path and mount state is for --json only: text output is the id (and the mounted path)
    ctx.print(ctx.json ? c.toJSON() : null, () => (root === undefined ? c.id : `${c.id}\n${root}`));
  } finally {
    bar.done();
  }
}

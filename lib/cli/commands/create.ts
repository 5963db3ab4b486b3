import * as fs from 'fs';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import type { LayerStore } from '../../layer-store';
import { DRIVER_CHOICES } from '../../types';
import type { DriverChoice } from '../../types';
import { InvalidArgumentError, NotFoundError } from '../../errors';
import { progressBar } from '../progress';
import { imageChain } from '../image-ref';

// from drivers/types, which loads nothing: --help does not load the drivers
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
    const c = await store.createContainer((await imageChain(store, chain)) ?? resolveChain(store, chain), { driver: opts.driver, name: opts.name, readOnly: opts.readOnly, onProgress: (p) => bar.update(p) });
    const root = opts.mount ? await c.mount() : undefined;
    bar.done();
    // the record with its path and mount state is for --json only: text output is the id (and the mounted path)
    ctx.print(ctx.json ? c.toJSON() : null, () => (root === undefined ? c.id : `${c.id}\n${root}`));
  } finally {
    bar.done();
  }
}

/** A full ChainID, a unique hex prefix of one in the store, or "scratch" (null: no layers). */
export function resolveChain(store: LayerStore, arg: string): string | null {
  if (arg === 'scratch') return null;
  const hex = arg.replace(/^sha256:/, '');
  if (/^[0-9a-f]{64}$/.test(hex)) return `sha256:${hex}`;
  if (!/^[0-9a-f]+$/.test(hex)) throw new InvalidArgumentError(`${JSON.stringify(arg)} is no image in the store, no image path, and no ChainID (sha256:<64 hex digits>, a hex prefix, or "scratch")`);
  const matches = fs.readdirSync(store.paths.layersDir).filter((n) => n.startsWith(hex) && store.hasLayer(`sha256:${n}`));
  if (matches.length === 1) return `sha256:${matches[0]}`;
  if (matches.length > 1) throw new InvalidArgumentError(`ChainID prefix ${hex} is ambiguous: ${matches.map((m) => m.slice(0, 12)).join(', ')}`);
  throw new NotFoundError(arg, `no layer with ChainID ${arg} in the store`);
}

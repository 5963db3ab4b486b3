import type { Command } from 'commander';
import type { CliContext } from '../context';
import { formatBytes } from '../progress';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('fsck')
    .description('verify every blob, unpacked layer, container and mount of the store')
    .option('--repair', 'extract damaged layers again from their blobs')
    .action(async (opts: { repair?: boolean }) => {
      const store = await ctx.store();
      const r = await store.fsck({ repair: opts.repair });
      ctx.print(r, () =>
        [
          `${r.blobs} blobs, ${r.layers} layers, ${r.containers} containers checked`,
          ...r.problems.map((p) => `${p.kind} ${p.id}: ${p.message}${p.repaired ? ' (repaired)' : ''}${p.paths ? '\n  ' + p.paths.join('\n  ') : ''}`),
          r.problems.length ? '' : 'no problems',
        ]
          .filter(Boolean)
          .join('\n'),
      );
      if (r.problems.some((p) => !p.repaired)) process.exitCode = 1;
    });
  program
    .command('gc')
    .description('remove what nothing references: unreferenced blobs, stale temporary files, and with --layers unreachable layers')
    .option('--layers', 'also remove layers that no image or container reaches')
    .action(async (opts: { layers?: boolean }) => {
      const store = await ctx.store();
      const r = await store.gc({ layers: opts.layers });
      ctx.print(r, () => `removed ${r.layers.length} layers and ${r.blobs.length} blobs, freed ${formatBytes(r.bytes)}`);
    });
  program
    .command('rmi')
    .description('remove a layer that nothing uses (fails while a container, image or layer above uses it)')
    .argument('<chainid>', 'ChainID of the layer')
    .action(async (id: string) => {
      const store = await ctx.store();
      await store.removeLayer(id);
      ctx.print({ removed: id }, () => `removed ${id}`);
    });
}

import type { Command } from 'commander';
import type { CliContext } from '../context';
import { formatBytes } from '../progress';
import { InvalidArgumentError } from '../../errors';

/** gc and rmi hold the store lock exclusive: they wait for the others, and say so on stderr. */
function lockWait(ctx: CliContext, seconds: string | undefined): { lockTimeout?: number; onWait: () => void } {
  const n = seconds === undefined ? undefined : Number(seconds);
  if (n !== undefined && !(Number.isFinite(n) && n >= 0)) throw new InvalidArgumentError(`--lock-timeout takes a number of seconds, not ${JSON.stringify(seconds)}`);
  return { lockTimeout: n === undefined ? undefined : n * 1000, onWait: () => ctx.warn('the store is in use (an import, create, commit or remove is running): waiting for it to finish') };
}

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
    .option('--lock-timeout <seconds>', 'how long to wait for running imports, commits and removes (default 60)')
    .action(async (opts: { layers?: boolean; lockTimeout?: string }) => {
      const store = await ctx.store();
      const r = await store.gc({ layers: opts.layers, ...lockWait(ctx, opts.lockTimeout) });
      ctx.print(r, () => `removed ${r.layers.length} layers and ${r.blobs.length} blobs, freed ${formatBytes(r.bytes)}`);
    });
  program
    .command('rmi')
    .description('remove a layer that nothing uses (fails while a container, image or layer above uses it)')
    .argument('<chainid>', 'ChainID of the layer')
    .option('--lock-timeout <seconds>', 'how long to wait for running imports, commits and removes (default 60)')
    .action(async (id: string, opts: { lockTimeout?: string }) => {
      const store = await ctx.store();
      await store.removeLayer(id, lockWait(ctx, opts.lockTimeout));
      ctx.print({ removed: id }, () => `removed ${id}`);
    });
}

import { Command } from 'commander';
import type { CliContext } from '../context';
import { formatBytes } from '../progress';
import { table } from '../table';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('ls')
    .description('list the layers in the store')
    .action(async () => {
      const store = await ctx.store();
      const layers = await store.listLayers();
      ctx.print({ layers }, () =>
        table(
          ['CHAINID', 'DIFFID', 'PARENT', 'SIZE', 'CREATED'],
          layers.map((l) => [short(l.chainId), short(l.diffId), l.parent ? short(l.parent) : '-', formatBytes(l.uncompressedSize), l.created]),
        ),
      );
    });
}

export function short(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

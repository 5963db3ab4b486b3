import type { Command } from 'commander';
import type { CliContext } from '../context';
import { formatBytes } from '../progress';
import { table } from '../table';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('ls')
    .description('list the layers and containers in the store')
    .action(async () => {
      const store = await ctx.store();
      const layers = await store.listLayers();
      const containers = (await store.listContainers()).map((c) => c.toJSON());
      ctx.print({ layers, containers }, () => {
        const out = [
          table(
            ['CHAINID', 'DIFFID', 'PARENT', 'SIZE', 'CREATED'],
            layers.map((l) => [short(l.chainId), short(l.diffId), l.parent ? short(l.parent) : '-', formatBytes(l.uncompressedSize), l.created]),
          ),
        ];
        if (containers.length) {
          out.push(
            '',
            table(
              ['CONTAINER', 'NAME', 'CHAIN', 'DRIVER', 'STATE', 'PATH', 'CREATED'],
              containers.map((c) => [
                c.id.slice(0, 12),
                c.name ?? '-',
                c.chain ? short(c.chain) : 'scratch',
                c.driver + (c.readOnly ? ' (ro)' : ''),
                c.mounted ? 'mounted' : c.state === 'mounted' ? 'unmounted' : c.state,
                c.path,
                c.created,
              ]),
            ),
          );
        }
        return out.join('\n');
      });
    });
}

export function short(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

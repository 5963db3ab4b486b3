import type { Command } from 'commander';
import type { CliContext } from '../context';
import type { Change } from '../../diff';
import type { ResolvedTree } from '../tree-ref';
import { printable } from '../../names';
import { paint } from '../style';
import { formatBytes } from '../progress';
import { imageTreeResolvers } from '../image-ref';

const colours = { A: 'green', C: 'yellow', D: 'red' } as const;

export function formatChanges(changes: Change[], sizes = false): string {
  return changes
    .map((c) => {
      const line = `${c.kind} ${printable(c.path)}${sizes && c.type === 'file' ? `  (${formatBytes(c.size)})` : ''}`;
      return paint(colours[c.kind], line);
    })
    .join('\n');
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('diff')
    .description('what changed: in a container against its chain, or between any two of a directory, layer tarball, ChainID, container or image')
    .argument('<a>', 'a container alone, or the "before" tree')
    .argument('[b]', 'the "after" tree')
    .option('--content', 'compare the contents of files of equal size even when both sides are one inode (by default one inode is taken as unchanged)')
    .option('--sizes', 'show the size of added and changed files')
    .addHelpText('after', '\nText output follows `docker diff`: A added, C changed, D deleted. --json prints the change records.')
    .action(async (a: string, b: string | undefined, opts: { content?: boolean; sizes?: boolean }) => {
      const store = await ctx.store();
      let changes: Change[];
      if (b === undefined) {
        const c = await store.getContainer(a);
        changes = await c.diff();
      } else {
        const trees: ResolvedTree[] = [];
        try {
          const { resolveTree } = require('../tree-ref') as typeof import('../tree-ref');
          const { diffTreesAsync } = require('../../diff') as typeof import('../../diff');
          trees.push(await resolveTree(store, a, imageTreeResolvers));
          trees.push(await resolveTree(store, b, imageTreeResolvers));
          changes = await diffTreesAsync(trees[0].input, trees[1].input, { compareContent: opts.content ? 'always' : 'auto' });
        } finally {
          for (const t of trees) await t.cleanup();
        }
      }
      const records = changes.map(({ source: _s, ...rest }) => rest);
      ctx.print({ changes: records }, () => formatChanges(changes, opts.sizes ?? b !== undefined));
    });
}

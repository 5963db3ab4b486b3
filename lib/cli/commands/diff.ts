import type { Command } from 'commander';
import type { CliContext } from '../context';
import type { Change } from '../../diff';
import type { ResolvedTree } from '../tree-ref';
import { printable } from '../../names';
import { paint } from '../style';
import { formatBytes } from '../progress';
import { lazy } from '../../lazy';

const htmlReportModule = lazy<typeof import('../html-report')>(() => require('../html-report'));
const treeRefModule = lazy<typeof import('../tree-ref')>(() => require('../tree-ref'));
const diffModule = lazy<typeof import('../../diff')>(() => require('../../diff'));

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
    .option('--html <file>', 'also write a self-contained HTML report: the changed paths as a tree, sizes before and after, small text files\' content diffs')
    .addHelpText('after', '\nText output follows `docker diff`: A added, C changed, D deleted. --json prints the change records.')
    .action(async (a: string, b: string | undefined, opts: { content?: boolean; sizes?: boolean; html?: string }) => {
      const store = await ctx.store();
      let changes: Change[];
      if (b === undefined) {
        const c = await store.getContainer(a);
        changes = await c.diff();
        if (opts.html !== undefined) {
          const html = htmlReportModule();
          const sides = await html.containerSides(store, c);
          await html.writeDiffHtml(opts.html, changes, sides.before, sides.after, { before: c.chain ?? 'no layers', after: c.name ?? c.id });
        }
      } else {
        const trees: ResolvedTree[] = [];
        try {
          const { resolveTree, imageTreeResolvers } = treeRefModule();
          const { diffTreesAsync } = diffModule();
          trees.push(await resolveTree(store, a, imageTreeResolvers));
          trees.push(await resolveTree(store, b, imageTreeResolvers));
          changes = await diffTreesAsync(trees[0].input, trees[1].input, { compareContent: opts.content ? 'always' : 'auto' });
          if (opts.html !== undefined) await htmlReportModule().writeDiffHtml(opts.html, changes, trees[0].input, trees[1].input, { before: a, after: b });
        } finally {
          for (const t of trees) await t.cleanup();
        }
      }
      const records = changes.map(({ source: _s, ...rest }) => rest);
      ctx.print({ changes: records }, () => formatChanges(changes, opts.sizes ?? b !== undefined));
    });
}

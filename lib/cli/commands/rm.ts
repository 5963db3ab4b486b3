import type { Command } from 'commander';
import type { CliContext } from '../context';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('rm')
    .description('remove containers: unmount them and delete their changes')
    .argument('<container...>', 'container ids, names or unique id prefixes')
    .action(async (refs: string[]) => {
      const store = await ctx.store();
      const removed: string[] = [];
      for (const ref of refs) {
        const c = await store.getContainer(ref);
        await c.remove({ onLazy: (t) => ctx.warn(`${t} was busy: it was detached lazily and goes away when its last user does`) });
        removed.push(c.id);
      }
      ctx.print({ removed }, () => removed.join('\n'));
    });
}

import type { Command } from 'commander';
import type { CliContext } from '../context';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('umount')
    .description("unmount a container's tree (its changes are kept)")
    .argument('<container...>', 'container ids, names or unique id prefixes')
    .action(async (refs: string[]) => {
      const store = await ctx.store();
      const done: string[] = [];
      for (const ref of refs) {
        const c = await store.getContainer(ref);
        await c.unmount();
        done.push(c.id);
      }
      ctx.print({ unmounted: done }, () => done.join('\n'));
    });
}

import type { Command } from 'commander';
import type { CliContext } from '../context';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('umount')
    .description("unmount a container's tree (its changes are kept)")
    .argument('<container...>', 'container ids, names or unique id prefixes')
    .action((refs: string[]) => umount(ctx, refs));
}

/** `layerfs umount`: also run without commander by the fast path (lib/cli/fast-path.ts). */
export async function umount(ctx: CliContext, refs: string[]): Promise<void> {
  const store = await ctx.store();
  const done: string[] = [];
  for (const ref of refs) {
    const c = await store.getContainer(ref);
    await c.unmount();
    done.push(c.id);
  }
  ctx.print({ unmounted: done }, () => done.join('\n'));
}

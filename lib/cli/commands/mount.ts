import { Command } from 'commander';
import type { CliContext } from '../context';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('mount')
    .description("mount a container's tree and print its path")
    .argument('<container>', 'container id, name or unique id prefix')
    .action(async (ref: string) => {
      const store = await ctx.store();
      const c = await store.getContainer(ref);
      const p = await c.mount();
      ctx.print({ id: c.id, driver: c.driver, path: p, mounts: await c.mounts() }, () => p);
    });
}

import type { Command } from 'commander';
import type { CliContext } from '../context';
import { lazy } from '../../lazy';
import { resolveChainRef } from '../refs';

const writeFileModule = lazy<typeof import('../write-file')>(() => require('../write-file'));

export function register(program: Command, ctx: CliContext): void {
  program
    .command('export')
    .description('write a layer tarball exactly as it was imported or committed (same bytes, same digest)')
    .argument('<chainid>', 'ChainID of the layer')
    .requiredOption('-o, --output <file>', 'where to write it ("-": standard output, and the result goes to stderr)')
    .action(async (chainId: string, opts: { output: string }) => {
      const dest = opts.output === '-' ? ctx.dataOut() : opts.output;
      const store = await ctx.store();
      const chain = (await resolveChainRef(store, chainId, { chain: true }))!;
      const layer = await store.getLayer(chain);
      const src = store.exportLayer(chain);
      const { writeStreamAtomically } = writeFileModule();
      await writeStreamAtomically(src, dest);
      ctx.print({ chainId: layer.chainId, digest: layer.digest, size: layer.size, mediaType: layer.mediaType, output: opts.output }, () => `${layer.digest} -> ${opts.output}`);
    });
}

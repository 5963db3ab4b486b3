import * as fs from 'fs';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { progressBar } from '../progress';
import { UsageError } from '../usage';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('import')
    .description('import a layer tarball (plain, gzip or zstd) into the store and print its DiffID and ChainID')
    .argument('<file>', 'the layer tarball ("-" reads standard input)')
    .option('--parent <chainid>', 'ChainID of the layer below (default: a base layer)')
    .option('--durable', 'fsync the layer before publishing it')
    .action(async (file: string, opts: { parent?: string; durable?: boolean }) => {
      if (file !== '-' && !fs.existsSync(file)) throw new UsageError(`no such file: ${file}`);
      const store = await ctx.store();
      const bar = progressBar(`importing ${file}`);
      try {
        const input = file === '-' ? process.stdin : file;
        const ref = await store.importLayer(input, { parent: opts.parent, onProgress: (p) => bar.update(p), durable: opts.durable });
        bar.done();
        ctx.print(ref, () => `DiffID:  ${ref.diffId}\nChainID: ${ref.chainId}`);
      } finally {
        bar.done();
      }
    });
}

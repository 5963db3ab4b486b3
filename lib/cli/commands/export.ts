import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import { Command } from 'commander';
import type { CliContext } from '../context';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('export')
    .description('write a layer tarball exactly as it was imported or committed (same bytes, same digest)')
    .argument('<chainid>', 'ChainID of the layer')
    .requiredOption('-o, --output <file>', 'where to write it ("-" for standard output)')
    .action(async (chainId: string, opts: { output: string }) => {
      const store = await ctx.store();
      const layer = await store.getLayer(chainId);
      const src = store.exportLayer(chainId);
      if (opts.output === '-') {
        await pipeline(src, process.stdout);
        return;
      }
      // write beside the target, then rename: a failed export leaves no half file
      const tmp = path.join(path.dirname(path.resolve(opts.output)), `.${path.basename(opts.output)}.${process.pid}.tmp`);
      try {
        await pipeline(src, fs.createWriteStream(tmp));
        fs.renameSync(tmp, opts.output);
      } catch (e) {
        fs.rmSync(tmp, { force: true });
        throw e;
      }
      ctx.print({ chainId: layer.chainId, digest: layer.digest, size: layer.size, mediaType: layer.mediaType, output: opts.output }, () => `${layer.digest} -> ${opts.output}`);
    });
}

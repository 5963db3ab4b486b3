import * as fs from 'fs';
import { Command, Option } from 'commander';
import type { CliContext } from '../context';
import { progressBar } from '../progress';
import { UsageError } from '../usage';
import { lazy } from '../../lazy';

const writeFileModule = lazy<typeof import('../write-file')>(() => require('../write-file'));

export function register(program: Command, ctx: CliContext): void {
  program
    .command('commit')
    .description("turn a container's changes into a new layer on top of its chain and print its DiffID and ChainID (an overlay container, with no compression asked, gives its upper directory to the layer and goes on on top of it)")
    .argument('<container>', 'container id, name or unique id prefix')
    .addOption(new Option('--compress <kind>', 'compression of the layer blob (default: gzip with -o; else the tar is kept, and gzip made when an image export or push first needs it)').choices(['gzip', 'zstd', 'none']))
    .option('-o, --output <file>', 'also write the layer tarball to this file ("-": standard output, and the result goes to stderr)')
    .option('--source-date-epoch <seconds>', 'clamp mtimes to this time (default: $SOURCE_DATE_EPOCH)')
    .option('--durable', 'fsync the layer before publishing it')
    .action(async (ref: string, opts: { compress?: 'gzip' | 'zstd' | 'none'; output?: string; sourceDateEpoch?: string; durable?: boolean }) => {
      // stdout is claimed first: a terminal is refused before anything is committed
      const dest = opts.output === '-' ? ctx.dataOut() : opts.output;
      const epoch = opts.sourceDateEpoch ?? process.env.SOURCE_DATE_EPOCH;
      if (epoch !== undefined && !/^\d+$/.test(epoch)) throw new UsageError(`${opts.sourceDateEpoch !== undefined ? '--source-date-epoch' : '$SOURCE_DATE_EPOCH'} takes seconds since the epoch, not ${JSON.stringify(epoch)}`);
      const store = await ctx.store();
      const c = await store.getContainer(ref);
      const bar = progressBar(`committing ${c.name ?? c.id}`);
      // the tarball written is this commit's own, compressed as asked: the layer returned may have
      // been in the store already, with the blob it was first committed with
      let output: { path: string; digest: string; mediaType: string; size: number } | undefined;
      const onBlob = async (file: string, blob: { digest: string; mediaType: string; size: number }) => {
        await writeFileModule().writeStreamAtomically(fs.createReadStream(file, { highWaterMark: 4 << 20 }), dest!);
        output = { path: opts.output!, ...blob };
      };
      // (inline: this process waits for the commit and nothing else, so no worker need start)
      // a tarball asked for is gzip unless said otherwise; a commit alone keeps the tar (the layer is deferred)
      const compression = opts.compress ?? (dest ? 'gzip' : undefined);
      const layer = await c.commit({ compression, sourceDateEpoch: epoch === undefined ? undefined : Number(epoch), onProgress: (p) => bar.update(p), durable: opts.durable, onBlob: dest ? onBlob : undefined, inline: true });
      bar.done();
      ctx.print({ ...layer, output }, () => `DiffID:  ${layer.diffId}\nChainID: ${layer.chainId}`);
    });
}

import { Command, Option } from 'commander';
import type { CliContext } from '../context';
import { progressBar, formatBytes } from '../progress';
import { table } from '../table';
import { short } from './ls';
import { imageOutput, UsageError } from '../usage';
import { NotFoundError } from '../../errors';
import { platformFlag } from '../registry-flags';
import { resolveRef } from '../refs';

export function register(program: Command, ctx: CliContext): void {
  const image = program.command('image').description('import, list and export images (OCI layout, oci-archive, docker-archive)');
  image
    .command('import')
    .description('import every layer of an image, verified against its descriptors and rootfs.diff_ids')
    .argument('<path>', 'an OCI layout (PATH or PATH:TAG), an oci-archive or a docker-archive (PATH or PATH:NAME:TAG)')
    .option('--name <name>', 'name to give the image in the store (default: its manifest digest, which no other image has)')
    .option('--replace', 'replace the image of that name if there is one (its layers stay until gc --layers)')
    .option('--platform <os/arch[/variant]>', 'which image of a multi-platform index: linux/arm/v7, linux/arm64, arm64 (default: this machine)')
    .action(async (ref: string, opts: { name?: string; platform?: string; replace?: boolean }) => {
      const platform = opts.platform === undefined ? undefined : platformFlag(opts.platform);
      const store = await ctx.store();
      const bar = progressBar(`importing ${ref}`);
      const rec = await store.importImage(ref, { name: opts.name, replace: opts.replace, platform, onProgress: (p) => bar.update(p) });
      bar.done();
      ctx.print({ name: rec.name, chain: rec.chain, manifestDigest: rec.manifestDigest, layers: rec.layers }, () => `${rec.name}\nChainID: ${rec.chain}\nlayers:  ${rec.layers.length}`);
    });
  image
    .command('ls')
    .description('list the imported images')
    .action(async () => {
      const store = await ctx.store();
      const images = await store.listImages();
      ctx.print(
        { images: images.map((i) => ({ name: i.name, chain: i.chain, manifestDigest: i.manifestDigest, layers: i.layers.length, source: i.source, tag: i.tag, created: i.created })) },
        () => table(['NAME', 'CHAIN', 'LAYERS', 'SIZE', 'SOURCE'], images.map((i) => [i.name, short(i.chain), String(i.layers.length), formatBytes(i.layers.reduce((a, l) => a + l.size, 0)), i.tag === undefined ? i.source : `${i.source}:${i.tag}`])),
      );
    });
  image
    .command('rm')
    .description('remove imported images by name (their layers stay until `gc --layers` or `rmi`); nothing is removed unless every name is there')
    .argument('<name...>', 'imported image names')
    .action(async (names: string[]) => {
      const store = await ctx.store();
      const missing = names.filter((n) => !store.importedImage(n));
      if (missing.length) throw new NotFoundError(missing[0], `no image named ${missing.map((n) => JSON.stringify(n)).join(', ')} in the store; nothing was removed`);
      const removed: Array<{ name: string; chain: string; manifestDigest: string }> = [];
      for (const n of names) removed.push(await store.removeImage(n));
      ctx.print({ removed: removed.map((r) => ({ name: r.name, chain: r.chain, manifestDigest: r.manifestDigest })) }, () => removed.map((r) => `removed ${r.name}`).join('\n'));
    });
  image
    .command('tag')
    .description('give an imported image another name')
    .argument('<source>', 'an imported image name')
    .argument('<target>', 'the new name')
    .option('--replace', 'replace the image of that name if there is one (its layers stay until gc --layers)')
    .action(async (source: string, target: string, opts: { replace?: boolean }) => {
      const store = await ctx.store();
      const r = await store.tagImage(source, target, { replace: opts.replace });
      ctx.print({ name: r.name, chain: r.chain, manifestDigest: r.manifestDigest }, () => `${source} -> ${r.name}`);
    });
  image
    .command('export')
    .description('write a container (committed first) or a chain as an image on top of a base image')
    .argument('<container-or-chain>', 'a container, a ChainID or an imported image name')
    .option('--from <image>', 'the base image (imported name or path) whose config and history are kept (default for a container: the image it was made from)')
    .requiredOption('-o, --output <path>', 'where to write the image')
    .addOption(new Option('--format <format>', 'image format').choices(['oci', 'oci-archive', 'docker-archive']).default('oci'))
    .option('--tag <tag>', 'tag (oci: ref.name annotation; docker-archive: NAME:TAG)')
    .addOption(new Option('--compress <kind>', 'compression of a committed layer').choices(['gzip', 'zstd', 'none']).default('gzip'))
    .option('--created <time>', 'the creation time written into the config and history, RFC 3339 (default: $SOURCE_DATE_EPOCH, else now)')
    .addHelpText('after', '\nEvery argument is checked before a container is committed. With --created or SOURCE_DATE_EPOCH two exports of one chain are byte-identical.')
    .action(async (ref: string, opts: { from?: string; output: string; format: 'oci' | 'oci-archive' | 'docker-archive'; tag?: string; compress: 'gzip' | 'zstd' | 'none'; created?: string }) => {
      imageOutput('image export', opts.output);
      const store = await ctx.store();
      const what = await resolveRef(store, ref, { chain: true, image: true, container: true });
      const source = what.kind === 'container' ? what.container : what.kind === 'image' ? (what.name ?? what.chain) : what.kind === 'chain' ? what.chain : ref;
      const r = await store.exportImage(source, { from: opts.from, to: opts.output, format: opts.format, tag: opts.tag, compression: opts.compress, created: opts.created });
      ctx.print({ ...r, output: opts.output, format: opts.format }, () => `${r.manifestDigest} -> ${opts.output}`);
    });
}

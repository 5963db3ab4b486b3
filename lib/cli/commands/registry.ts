import { Command, Option } from 'commander';
import type { CliContext } from '../context';
import { addTransferFlags, credsWithPassword, platformFlag, registryFlags, RegistryFlags } from '../registry-flags';
import { lazy } from '../../lazy';

const blobBarsModule = lazy<typeof import('../blob-bars')>(() => require('../blob-bars'));
const copyModule = lazy<typeof import('../../registry/copy')>(() => require('../../registry/copy'));

/** The flags of pull, push and copy as commander parsed them. */
type TransferFlags = RegistryFlags & { jobs: number };

/** The flags as the library takes them; `--creds USER` asks for the password on a terminal. */
async function connectOpts(o: TransferFlags): Promise<{ creds?: string; authfile?: string; certDir?: string; tlsVerify: boolean; jobs: number }> {
  return { ...registryFlags(o), creds: await credsWithPassword(o.creds), jobs: o.jobs };
}

export function register(program: Command, ctx: CliContext): void {
  addTransferFlags(
    program
      .command('pull')
      .description('pull an image from a registry into the store: layers stream straight into the store, verified, as `image import` makes them')
      .argument('<ref>', '[docker://]HOST[:PORT]/REPO[:TAG|@sha256:…] (a bare REPO[:TAG] is on Docker Hub)')
      .option('--name <name>', 'name to give the image in the store (default: the reference as given)')
      .option('--replace', 'replace another image of that name (a pull of the same reference moves its own record without it)')
      .option('--platform <os/arch[/variant]>', 'which image of a multi-platform index (default: this machine)'),
  ).action(async (ref: string, o: TransferFlags & { name?: string; platform?: string; replace?: boolean }) => {
    const platform = o.platform === undefined ? undefined : platformFlag(o.platform);
    const store = await ctx.store();
    const { blobBars } = blobBarsModule();
    const bars = blobBars();
    let digests: string[] = [];
    const rec = await store
      .pull(ref, {
        ...(await connectOpts(o)),
        name: o.name,
        replace: o.replace,
        platform,
        onLayerProgress: (i, ev) => {
          const d = digests[i] ?? `layer ${i}`;
          bars.update(d, ev.bytes, ev.total, ev.skipped ? 'already in the store' : ev.done ? 'done' : undefined);
        },
        onManifest: (layers) => (digests = layers),
      })
      .finally(() => bars.done());
    ctx.print(
      { name: rec.name, chain: rec.chain, manifestDigest: rec.manifestDigest, configDigest: rec.configDigest, source: rec.source, from: rec.from, layers: rec.layers },
      () => `${rec.name}\nmanifest: ${rec.manifestDigest}\nChainID:  ${rec.chain}\nlayers:   ${rec.layers.length}`,
    );
  });

  addTransferFlags(
    program
      .command('push')
      .description('push an imported image, a container (committed first) or a chain (with --from) to a registry; prints the manifest digest')
      .argument('<source>', 'an imported image name, a container, or a ChainID')
      .argument('<ref>', '[docker://]HOST[:PORT]/REPO[:TAG]')
      .option('--from <image>', 'the base image (imported name or path) whose config and history are kept (default for a container: the image it was made from)')
      .addOption(new Option('--compress <kind>', 'compression of a committed layer').choices(['gzip', 'zstd', 'none']).default('gzip'))
      .option('--created <time>', 'the creation time written into the config and history, RFC 3339 (default: $SOURCE_DATE_EPOCH, else now)'),
  ).action(async (source: string, ref: string, o: TransferFlags & { from?: string; compress: 'gzip' | 'zstd' | 'none'; created?: string }) => {
    const store = await ctx.store();
    const { blobBars } = blobBarsModule();
    const bars = blobBars();
    const r = await store
      .push(source, ref, {
        ...(await connectOpts(o)),
        from: o.from,
        compression: o.compress,
        created: o.created,
        onBlob: (b) => bars.update(b.digest, b.size, b.size, b.how === 'uploaded' ? `sent ${b.bytes} bytes` : b.how),
      })
      .finally(() => bars.done());
    ctx.print({ manifestDigest: r.manifestDigest, configDigest: r.configDigest, chainId: r.chainId, bytes: r.bytes, blobs: r.blobs }, () => r.manifestDigest);
  });

  addTransferFlags(
    program
      .command('copy')
      .description("copy an image between a registry and local layouts or archives (skopeo's transport names); blobs stream through, verified")
      .argument('<src>', 'docker://HOST/REPO[:TAG|@digest], oci:PATH[:TAG], oci-archive:PATH or docker-archive:PATH')
      .argument('<dst>', 'docker://HOST/REPO[:TAG], oci:PATH[:TAG], oci-archive:PATH[:TAG] or docker-archive:PATH[:NAME:TAG]')
      .option('--platform <os/arch[/variant]>', 'which image of a multi-platform index (default: this machine)'),
  ).action(async (src: string, dst: string, o: TransferFlags & { platform?: string }) => {
    const platform = o.platform === undefined ? undefined : platformFlag(o.platform);
    const { copyImage } = copyModule();
    const r = await copyImage(src, dst, { ...(await connectOpts(o)), platform });
    ctx.print({ manifestDigest: r.manifestDigest, configDigest: r.configDigest, ...(r.pushed ? { bytes: r.pushed.bytes, blobs: r.pushed.blobs } : {}) }, () => `${r.manifestDigest} -> ${dst}`);
  });
}

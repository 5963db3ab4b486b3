import { Command, Option } from 'commander';
import type { CliContext } from '../context';
import { progressBar } from '../progress';
import { imageOutput, UsageError } from '../usage';
import type { BuildLayerOptions } from '../../build';

const collect = (v: string, prev: string[]) => [...prev, v];

function owner(v?: string): { uid: number; gid: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+):(\d+)$/.exec(v);
  if (!m) throw new UsageError(`--owner takes UID:GID, not ${JSON.stringify(v)}`);
  return { uid: Number(m[1]), gid: Number(m[2]) };
}

function mtime(v: string): 'keep' | 'epoch' | Date {
  if (v === 'keep' || v === 'epoch') return v;
  const d = new Date(/^\d+$/.test(v) ? Number(v) * 1000 : v);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--mtime takes keep, epoch, seconds or an ISO date, not ${JSON.stringify(v)}`);
  return d;
}

function mode(v?: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-7]{3,4}$/.test(v)) throw new UsageError(`--mode takes octal permission bits like 644, not ${JSON.stringify(v)}`);
  return parseInt(v, 8);
}

/** ENTRYPOINT and CMD: a JSON array of strings, or a single word. */
function words(flag: string, v?: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!v.trim().startsWith('[')) return [v];
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch (e) {
    throw new UsageError(`${flag} takes a JSON array of strings or a single word: ${(e as Error).message}`);
  }
  if (!Array.isArray(parsed) || !parsed.every((w) => typeof w === 'string')) throw new UsageError(`${flag} takes a JSON array of strings, not ${v}`);
  return parsed as string[];
}

interface LayerFlags {
  include: string[];
  exclude: string[];
  ignoreFile?: string;
  prefix?: string;
  owner?: string;
  mode?: string;
  mtime: string;
  compress: 'gzip' | 'zstd' | 'none';
  specialFiles?: boolean;
  strict?: boolean;
}

function layerOptions(o: LayerFlags, from: string, prefix?: string): BuildLayerOptions {
  return { from, include: o.include, exclude: o.exclude, ignoreFile: o.ignoreFile, prefix: prefix ?? o.prefix, owner: owner(o.owner), mode: mode(o.mode), mtime: mtime(o.mtime), compression: o.compress, specialFiles: o.specialFiles, strict: o.strict };
}

function fileFlags(c: Command): Command {
  return c
    .option('--include <glob>', 'files to take (* ? ** [..] {a,b}; a directory takes all it holds; repeatable; default: everything; symlinks are never followed)', collect, [])
    .option('--exclude <glob>', 'files to leave out (a directory: all it holds; repeatable)', collect, [])
    .option('--ignore-file <file>', 'an ignore file in .dockerignore syntax')
    .option('--owner <uid:gid>', 'owner of every entry')
    .option('--mode <octal>', 'permission bits of regular files (executables keep x); directories get 755')
    .option('--mtime <keep|epoch|time>', 'entry mtimes: the files\' own, the epoch (reproducible), or a fixed time', 'epoch')
    .addOption(new Option('--compress <kind>', 'compression of the layer blob').choices(['gzip', 'zstd', 'none']).default('gzip'))
    .option('--special-files', 'keep fifos, sockets and devices (default: skip them with a warning)')
    .option('--strict', 'an --include that matches nothing is an error (exit 1), not a warning');
}

export function register(program: Command, ctx: CliContext): void {
  const layer = program.command('layer').description('build layers from files');
  fileFlags(
    layer
      .command('build')
      .description('build a reproducible layer from a directory and print it (the same files give the same bytes and digest)')
      .argument('<dir>', 'the directory to take files from')
      .option('--prefix <path>', 'where the files land in the layer, e.g. /app')
      .option('--parent <chainid>', 'the layer below'),
  ).action(async (dir: string, o: LayerFlags & { parent?: string }) => {
    const store = await ctx.store();
    const bar = progressBar(`building ${dir}`);
    const r = await store.buildLayer({ ...layerOptions(o, dir), parent: o.parent, onProgress: (p) => bar.update(p), onWarning: (m) => ctx.warn(m) });
    bar.done();
    ctx.print(r, () => `DiffID:  ${r.diffId}\nChainID: ${r.chainId}\nDigest:  ${r.digest}${r.added ? '' : '\n(already in the store: nothing added)'}`);
  });

  const image = program.commands.find((c) => c.name() === 'image') ?? program.command('image');
  fileFlags(
    image
      .command('build')
      .description('append layers built from directories to a base image and write the new image, with no daemon')
      .requiredOption('--from <image>', 'the base image: an imported name, a layout/archive path, or scratch (no base)')
      .requiredOption('--layer <dir[:prefix]>', 'a directory to add as a layer, optionally at a prefix (repeatable)', collect, [])
      .option('--entrypoint <json-or-word>', 'ENTRYPOINT: a JSON array or a single word')
      .option('--cmd <json-or-word>', 'CMD: a JSON array or a single word')
      .option('--env <K=V>', 'an environment variable (repeatable)', collect, [])
      .option('--workdir <dir>', 'WorkingDir')
      .option('--user <user>', 'User')
      .option('--label <K=V>', 'a label (repeatable)', collect, [])
      .option('--expose <port>', 'an exposed port, e.g. 8080/tcp (repeatable)', collect, [])
      .requiredOption('-o, --output <path>', 'where to write the image')
      .addOption(new Option('--format <format>', 'image format').choices(['oci', 'oci-archive', 'docker-archive']).default('oci'))
      .option('--tag <tag>', 'the tag of the new image'),
  ).action(async (o: LayerFlags & { from: string; layer: string[]; entrypoint?: string; cmd?: string; env: string[]; workdir?: string; user?: string; label: string[]; expose: string[]; output: string; format: 'oci' | 'oci-archive' | 'docker-archive'; tag?: string }) => {
    imageOutput('image build', o.output);
    const entrypoint = words('--entrypoint', o.entrypoint);
    const cmd = words('--cmd', o.cmd);
    const store = await ctx.store();
    const layers = o.layer.map((spec) => {
      const i = spec.lastIndexOf(':');
      return i > 0 ? layerOptions(o, spec.slice(0, i), spec.slice(i + 1)) : layerOptions(o, spec);
    });
    const r = await store.buildImage({
      from: o.from,
      layers: layers.map((l) => ({ ...l, onWarning: (m: string) => ctx.warn(m) })),
      config: {
        entrypoint,
        cmd,
        env: o.env.length ? o.env : undefined,
        workingDir: o.workdir,
        user: o.user,
        labels: o.label.length ? Object.fromEntries(o.label.map((l) => [l.split('=')[0], l.split('=').slice(1).join('=')])) : undefined,
        exposedPorts: o.expose.length ? o.expose : undefined,
      },
      to: o.output,
      format: o.format,
      tag: o.tag,
    });
    ctx.print({ manifestDigest: r.manifestDigest, configDigest: r.configDigest, chainId: r.chainId, layers: r.layers, output: o.output }, () => `${r.manifestDigest} -> ${o.output}`);
  });
}

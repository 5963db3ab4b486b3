// commander loads only to register (the fast path runs `run` without it: lib/cli/fast-path.ts)
import type { Command } from 'commander';
import type { CliContext } from '../context';
import type { LayerStore } from '../../layer-store';
import type { Container } from '../../container';
import { InvalidArgumentError, NotFoundError } from '../../errors';
import { UsageError } from '../usage';
import { resolveRef } from '../refs';
import { DRIVER_CHOICES } from '../../types';
import type { DriverChoice } from '../../types';

/** The options of `run`, as commander gives them to the action. */
export interface RunFlags {
  name?: string;
  rm?: boolean;
  driver: DriverChoice;
  runtime?: string;
  env: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  readOnly?: boolean;
  tty?: boolean;
  commit?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('run')
    .description('run a command in a container of an image (or in an existing container) with an OCI runtime, in the foreground')
    .argument('<image-or-container>', 'an imported image name, an image path, a ChainID, or an existing container id or name')
    .argument('[command...]', "the command and its arguments (default: the image's Cmd); everything after the image is the command's, as with docker run");
  cmd
    .option('--name <name>', 'a name for the new container')
    .option('--rm', 'remove the container when the process ends')
    .addOption(cmd.createOption('--driver <driver>', 'driver of a new container').choices([...DRIVER_CHOICES]).default('auto'))
    .option('--runtime <runtime>', 'runc (default), crun, or the path of an OCI runtime')
    .addOption(cmd.createOption('-e, --env <K=V>', 'set an environment variable (repeatable)').argParser((v: string, prev: string[]) => [...prev, v]).default([]))
    .option('-w, --workdir <dir>', "the process's working directory (replaces WorkingDir)")
    .option('-u, --user <user[:group]>', 'the user to run as (replaces User)')
    .option('--entrypoint <json-or-word>', 'replaces the Entrypoint: a JSON list, or one word')
    .option('--read-only', 'mount the root filesystem read-only')
    .option('-t, --tty', 'allocate a terminal')
    .option('--commit', 'commit the container afterwards and print the new ChainID (on stderr with a terminal process)')
    .action((ref: string, command: string[], opts: RunFlags) => run(ctx, ref, command, opts));
}

/** `layerfs run`: also run without commander by the fast path (lib/cli/fast-path.ts). */
export async function run(ctx: CliContext, ref: string, command: string[], opts: RunFlags): Promise<void> {
  for (const e of opts.env) if (!/^[^=]+=/.test(e)) throw new UsageError(`bad --env ${JSON.stringify(e)}: expected NAME=VALUE`);
  const entrypoint = opts.entrypoint === undefined ? undefined : parseEntrypoint(opts.entrypoint);
  const store = await ctx.store();
  const { container, created } = await containerFor(store, ref, opts);

  // Ctrl-C and `kill` reach the process in the container, not us: we forward them and wait
  let kill: ((sig: NodeJS.Signals) => void) | undefined;
  const forward = (sig: NodeJS.Signals) => kill?.(sig);
  const signals: NodeJS.Signals[] = opts.tty ? [] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, forward);
  try {
    let result;
    try {
      result = await container.run(command, {
        runtime: opts.runtime,
        env: opts.env,
        workdir: opts.workdir,
        user: opts.user,
        entrypoint,
        readOnly: opts.readOnly,
        tty: opts.tty,
        onStarted: (k) => (kill = k),
        // removing unmounts: one unmount, not two
        keepMounted: opts.rm && !opts.commit,
      });
    } catch (e) {
      if (created && opts.rm) await container.remove();
      if (e instanceof InvalidArgumentError && /no command to run/.test(e.message)) throw new UsageError(`${e.message}: give one after the image (layerfs run IMAGE -- CMD...)`);
      throw e;
    }
    if (opts.commit) {
      const layer = await container.commit({});
      // the process's own output is on stdout: the ChainID goes to stderr unless --json asks for a document
      if (ctx.json) ctx.print({ exitCode: result.exitCode, signal: result.signal, container: container.id, ...layer }, () => '');
      else process.stderr.write(`${layer.chainId}\n`);
    } else if (ctx.json) ctx.print({ exitCode: result.exitCode, signal: result.signal, container: container.id }, () => '');
    if (opts.rm) await container.remove();
    process.exitCode = result.exitCode;
  } finally {
    for (const s of signals) process.off(s, forward);
  }
}

/** An existing container (id, name or prefix), else a new one on an image or chain (lib/cli/refs.ts: one resolver). */
async function containerFor(store: LayerStore, ref: string, opts: RunFlags): Promise<{ container: Container; created: boolean }> {
  const r = await resolveRef(store, ref, { container: true, imagePath: true, chain: true, scratch: true });
  if (r.kind === 'container') return { container: r.container, created: false };
  const image = r.kind === 'image' ? { name: r.name, config: r.config } : undefined;
  const container = await store.createContainer(r.kind === 'scratch' ? null : r.chain, { driver: opts.driver, name: opts.name, image });
  return { container, created: true };
}

/** Options of `run` and `bundle` (and the global ones) that take a value: what follows is not a positional. */
const WITH_VALUE = new Set(['--store', '--name', '--driver', '--runtime', '-e', '--env', '-w', '--workdir', '-u', '--user', '--entrypoint']);

/**
 * `layerfs run IMAGE sh -c 'x'` means the command `sh -c 'x'`, as `docker run` reads it: the
 * first `positionals` operands after the subcommand are ours, everything after them the
 * command's, options included. So a `--` is put after them for commander.
 */
export function separateCommand(argv: string[], subcommand: string, positionals: number): string[] {
  let i = 0;
  // the subcommand is the first operand (global options before it)
  while (i < argv.length && argv[i] !== subcommand) i += WITH_VALUE.has(argv[i]) ? 2 : 1;
  if (i >= argv.length) return argv;
  let seen = 0;
  for (i++; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return argv;
    if (a.startsWith('-') && a !== '-') {
      if (WITH_VALUE.has(a)) i++;
      continue;
    }
    if (++seen === positionals) return i + 1 < argv.length && argv[i + 1] !== '--' ? [...argv.slice(0, i + 1), '--', ...argv.slice(i + 1)] : argv;
  }
  return argv;
}

/** `--entrypoint '["sh","-c"]'` or `--entrypoint sh`; `--entrypoint ''` clears it. */
export function parseEntrypoint(v: string): string[] {
  if (v.trim().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch (e) {
      throw new UsageError(`bad --entrypoint ${JSON.stringify(v)}: not valid JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) throw new UsageError(`bad --entrypoint ${JSON.stringify(v)}: expected a JSON list of strings`);
    return parsed;
  }
  return v === '' ? [] : [v];
}

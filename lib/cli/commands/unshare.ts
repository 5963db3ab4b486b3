import * as path from 'path';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { UsageError } from '../usage';
import { lazy } from '../../lazy';

const usernsModule = lazy<typeof import('../../userns')>(() => require('../../userns'));
const childProcessModule = lazy<typeof import('child_process')>(() => require('child_process'));
const osModule = lazy<typeof import('os')>(() => require('os'));
const pathsModule = lazy<typeof import('../../store/paths')>(() => require('../../store/paths'));

export function register(program: Command, ctx: CliContext): void {
  program
    .command('unshare')
    .description("run a command (default: $SHELL) inside the store's user namespace, where its mounts are seen, as `podman unshare` does; global options go before `unshare`")
    .argument('[command...]', 'the command and its arguments: everything after `unshare` is its own')
    .option('--stop', "end the store's user namespace holder instead (its mounts go with it; the next command starts a new one)")
    .action((command: string[], opts: { stop?: boolean }) => (opts.stop ? stop(ctx, command) : unshare(ctx, command)));
}

/** `layerfs unshare --stop`: ends the holder without entering it (opening the store would start one). */
async function stop(ctx: CliContext, command: string[]): Promise<void> {
  if (command.length) throw new UsageError(`unshare --stop takes no command (got ${JSON.stringify(command.join(' '))})`);
  const { liveHolder, stopHolder } = usernsModule();
  const root = path.resolve(ctx.storeDir ?? pathsModule().defaultStoreDir());
  const h = liveHolder(root);
  const stopped = stopHolder(root);
  ctx.print({ store: root, stopped, pid: stopped ? h?.pid : undefined }, () => (stopped ? `stopped the user namespace holder of ${root} (pid ${h?.pid}); the mounts it held are gone` : `${root} has no user namespace holder running`));
}

async function unshare(ctx: CliContext, command: string[]): Promise<void> {
  // opening the store is what runs this command again inside the namespace (as an ordinary user)
  const store = await ctx.store();
  const { REEXEC_ENV, ENTERED_ENV } = usernsModule();
  const env: NodeJS.ProcessEnv = { ...process.env, LAYERFS_STORE: store.root };
  delete env[REEXEC_ENV]; // a layerfs run inside is inside: its mount paths are good where it runs
  delete env[ENTERED_ENV];
  const [file, ...args] = command.length ? command : [process.env.SHELL || '/bin/sh'];
  const { spawn } = childProcessModule();
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'inherit', env });
    const ignore = () => undefined;
    process.on('SIGINT', ignore);
    child.on('error', (e) => reject(Object.assign(new Error(`cannot run ${file}: ${e.message}`), { code: 'LAYERFS_NOT_FOUND' })));
    child.on('exit', (c, sig) => {
      process.off('SIGINT', ignore);
      resolve(c ?? 128 + (sig ? osModule().constants.signals[sig] : 0));
    });
  });
  // under --json the command's own output comes first; the one document is its exit code
  if (ctx.json) ctx.print({ exitCode: code }, () => '');
  if (code !== 0) process.exitCode = code;
}

/** From the first operand after `unshare` on, everything is the command's own: commander gets a `--` there. */
export function separateUnshare(argv: string[]): string[] {
  const i = argv.indexOf('unshare');
  if (i < 0) return argv;
  for (let j = i + 1; j < argv.length; j++) {
    if (argv[j] === '--') return argv;
    if (!argv[j].startsWith('-')) return [...argv.slice(0, j), '--', ...argv.slice(j)];
  }
  return argv;
}

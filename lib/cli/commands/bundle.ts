import * as path from 'path';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { parseEntrypoint } from './run';
import { lazy } from '../../lazy';

const runModule = lazy<typeof import('../../container/run')>(() => require('../../container/run'));

interface BundleFlags {
  readOnly?: boolean;
  tty?: boolean;
  env: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('bundle')
    .description('write an OCI runtime bundle of a container (config.json whose root.path is the mounted container): `runc run --bundle DIR ID` runs it')
    .argument('<container>', 'container id, name or unique id prefix')
    .argument('<dir>', 'the bundle directory (created)')
    .argument('[command...]', "the command and its arguments (default: the image's Cmd)")
    .option('--read-only', 'the root filesystem is read-only in the container')
    .option('-t, --tty', 'the process gets a terminal')
    .option('-e, --env <K=V>', 'set an environment variable (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('-w, --workdir <dir>', "the process's working directory")
    .option('-u, --user <user[:group]>', 'the user to run as')
    .option('--entrypoint <json-or-word>', 'replaces the Entrypoint')
    .action(async (ref: string, dir: string, command: string[], opts: BundleFlags) => {
      const entrypoint = opts.entrypoint === undefined ? undefined : parseEntrypoint(opts.entrypoint);
      const store = await ctx.store();
      const c = await store.getContainer(ref);
      const { prepareBundle } = runModule();
      const bundle = path.resolve(dir);
      const spec = await prepareBundle(c, bundle, { args: command, readOnly: opts.readOnly, tty: opts.tty, env: opts.env, workdir: opts.workdir, user: opts.user, entrypoint });
      ctx.print({ bundle, config: path.join(bundle, 'config.json'), root: spec.root.path }, () => bundle);
    });
}

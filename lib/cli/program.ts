import * as fs from 'fs';
import * as path from 'path';
import { Command, CommanderError } from 'commander';
import type { CliContext } from './context';
import { commandsFor } from './commands';
import { EXIT_USAGE } from './exit-codes';
import { lazy } from '../lazy';

const unshareModule = lazy<typeof import('./commands/unshare')>(() => require('./commands/unshare'));
const runModule = lazy<typeof import('./commands/run')>(() => require('./commands/run'));

/** package.json is two levels up from lib/cli, three from dist/lib/cli. */
function version(): string {
  for (let d = __dirname; d !== path.dirname(d); d = path.dirname(d)) {
    const f = path.join(d, 'package.json');
    if (fs.existsSync(f)) return (JSON.parse(fs.readFileSync(f, 'utf8')) as { version: string }).version;
  }
  return '0.0.0';
}

/** The whole command line as commander knows it: every subcommand with its options and help. */
export function buildProgram(ctx: CliContext, argv: string[]): Command {
  const program = new Command('layerfs');
  program
    .description('layered filesystems in the style of container images: layers, containers (overlayfs or copy), diff, commit, images')
    // package.json is read only when the version is asked for; under --json it is a JSON document too
    .version(argv.includes('-V') || argv.includes('--version') ? (argv.includes('--json') ? JSON.stringify({ version: version() }) : version()) : '')
    .option('--store <dir>', 'the store directory (default: $LAYERFS_STORE, $XDG_DATA_HOME/layerfs, ~/.local/share/layerfs)')
    .option('--json', 'print machine-readable JSON on stdout (errors too)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .hook('preAction', (cmd) => {
      const o = cmd.optsWithGlobals() as { store?: string; json?: boolean };
      ctx.storeDir = o.store;
      ctx.json = !!o.json;
    });
  for (const register of commandsFor(subcommand(argv))) register(program, ctx);
  for (const c of program.commands) c.exitOverride();
  return program;
}

/**
 * Parses `argv` with commander and runs the command. Commander's own outcomes become exit codes
 * here: help and version asked for are 0; a usage error, or help shown because no command was
 * given, is 2 (with the error as JSON on stdout under --json). A command's failure is thrown to the caller.
 */
export async function runProgram(argv: string[], ctx: CliContext): Promise<number> {
  const program = buildProgram(ctx, argv);
  try {
    await program.parseAsync(commandArgv(argv), { from: 'user' });
    return 0;
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    if (e.exitCode === 0) return 0;
    const message = e.code === 'commander.help' ? 'no command given' : e.message.replace(/^error: /, '');
    if (ctx.json) process.stdout.write(JSON.stringify({ error: { code: 'LAYERFS_USAGE', message } }) + '\n');
    return EXIT_USAGE;
  }
}

/** The first operand: the subcommand, if the line names one (a global option's value is skipped). */
function subcommand(argv: string[]): string | undefined {
  return argv.find((a, i) => !a.startsWith('-') && argv[i - 1] !== '--store');
}

/** For `run` and `bundle`, what follows the image (container, directory) is the command's own. */
function commandArgv(argv: string[]): string[] {
  const first = subcommand(argv);
  if (first === 'unshare') return unshareModule().separateUnshare(argv);
  const sub = argv.find((a) => a === 'run' || a === 'bundle');
  if (!sub) return argv;
  const { separateCommand } = runModule();
  return separateCommand(argv, sub, sub === 'run' ? 1 : 2);
}

import * as fs from 'fs';
import * as path from 'path';
import { Command, CommanderError } from 'commander';
import { LayerStore } from '../layer-store';
import { LayerfsError } from '../errors';
import type { CliContext } from './context';
import { UsageError } from './usage';
import { paint } from './style';
import { commands } from './commands';

/** package.json is two levels up from lib/cli, three from dist/lib/cli. */
function version(): string {
  for (let d = __dirname; d !== path.dirname(d); d = path.dirname(d)) {
    const f = path.join(d, 'package.json');
    if (fs.existsSync(f)) return (JSON.parse(fs.readFileSync(f, 'utf8')) as { version: string }).version;
  }
  return '0.0.0';
}

/** Exit codes: 0 success, 1 failure, 2 usage error. */
export async function main(argv: string[]): Promise<void> {
  const code = await run(argv);
  if (code !== 0) process.exitCode = code;
}

export async function run(argv: string[]): Promise<number> {
  const program = new Command('layerfs');
  let store: Promise<LayerStore> | undefined;
  const ctx: CliContext = {
    json: false,
    store: () => (store ??= LayerStore.open(ctx.storeDir)),
    print: (json, text) => {
      process.stdout.write((ctx.json ? JSON.stringify(json, null, 2) : text()) + '\n');
    },
    info: (text) => {
      if (!ctx.json) process.stdout.write(text + '\n');
    },
    warn: (text) => {
      process.stderr.write(`${paint('yellow', 'warning', process.stderr)}: ${text}\n`);
    },
  };
  program
    .description('layered filesystems in the style of container images: layers, containers (overlayfs or copy), diff, commit, images')
    .version(version())
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
  for (const register of commands) register(program, ctx);
  for (const c of program.commands) c.exitOverride();
  // --json must also shape errors raised before any action runs
  ctx.json = argv.includes('--json');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    return reportError(e, ctx);
  }
}

function reportError(e: unknown, ctx: CliContext): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    if (ctx.json) process.stdout.write(JSON.stringify({ error: { code: 'LAYERFS_USAGE', message: e.message.replace(/^error: /, '') } }) + '\n');
    return 2;
  }
  const usage = e instanceof UsageError;
  if (ctx.json) {
    const err = e instanceof LayerfsError ? e.toJSON() : { code: (e as NodeJS.ErrnoException)?.code ?? 'LAYERFS_ERROR', message: (e as Error)?.message ?? String(e) };
    process.stdout.write(JSON.stringify({ error: err }, null, 2) + '\n');
  } else {
    const msg = (e as Error)?.message ?? String(e);
    process.stderr.write(`${paint('red', 'layerfs', process.stderr)}: ${msg}\n`);
    if (process.env.LAYERFS_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  }
  return usage ? 2 : 1;
}

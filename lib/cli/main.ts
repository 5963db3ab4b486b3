import type { LayerStore } from '../layer-store';
import { LayerfsError } from '../errors';
import type { CliContext } from './context';
import { UsageError } from './usage';
import { paint } from './style';
import { parseFastPath, runFast } from './fast-path';

/*
 * Startup is most of what a short command costs, so this module loads little: the store (and
 * with it the library) only when a command opens it, commander only when the command line is
 * not one the fast path reads, and each command's heavy parts only when it runs.
 */

/** Exit codes: 0 success, 1 failure, 2 usage error. */
export async function main(argv: string[]): Promise<void> {
  const code = await run(argv);
  if (code !== 0) process.exitCode = code;
}

export async function run(argv: string[]): Promise<number> {
  let store: Promise<LayerStore> | undefined;
  const ctx: CliContext = {
    json: false,
    store: () => (store ??= (require('../layer-store') as typeof import('../layer-store')).LayerStore.open(ctx.storeDir, { onWarning: (m) => ctx.warn(m) })),
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
  // --json must also shape errors raised before any action runs
  ctx.json = argv.includes('--json');
  try {
    const fast = parseFastPath(argv);
    if (!fast) return await (require('./program') as typeof import('./program')).runProgram(argv, ctx);
    await runFast(fast, ctx);
    return 0;
  } catch (e) {
    return reportError(e, ctx);
  }
}

function reportError(e: unknown, ctx: CliContext): number {
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

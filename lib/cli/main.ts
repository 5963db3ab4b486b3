import type { LayerStore } from '../layer-store';
import type { CliContext } from './context';
import { UsageError } from './usage';
import { paint } from './style';
import { parseFastPath, runFast } from './fast-path';
import { exitCodeOf, errorRecord, EXIT_PIPE } from './exit-codes';

/*
 * Startup is most of what a short command costs, so this module loads little: the store (and
 * with it the library) only when a command opens it, commander only when the command line is
 * not one the fast path reads, and each command's heavy parts only when it runs.
 */

/** Exit codes: 0 success, 1 failure, 2 usage error (lib/cli/exit-codes.ts). */
export async function main(argv: string[]): Promise<void> {
  endQuietlyOnClosedPipe();
  const code = await run(argv);
  if (code !== 0) process.exitCode = code;
}

/**
 * A reader that goes away (`layerfs ls | head -1`) ends the command at once and quietly, as
 * SIGPIPE ends coreutils: no message, exit 141 (what a shell reports for them). Node ignores
 * SIGPIPE, so the write fails with EPIPE instead, which unhandled would print a stack trace.
 */
function endQuietlyOnClosedPipe(): void {
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(EXIT_PIPE);
      throw e;
    });
  }
}

function addonMissing(reason: string): string {
  return `the layerfs native addon is not available (${reason}): overlay mounts and overlay whiteouts are off, containers use the copy driver. Build it with \`npm rebuild layerfs\` (needs python3, make and a C++ compiler), or set LAYERFS_DISABLE_ADDON=1 to run without it and without this warning`;
}

export async function run(argv: string[]): Promise<number> {
  let store: Promise<LayerStore> | undefined;
  // once stdout carries data (`-o -`), results and errors go to stderr; under --json stdout
  // holds one document at most, so an error after a printed result goes to stderr too
  let stdoutIsData = false;
  let printed = false;
  const results = () => (stdoutIsData ? process.stderr : process.stdout);
  const ctx: CliContext = {
    json: false,
    store: () => {
      if (!store) {
        // the store is what loads the addon: a missing one is said once, on stderr
        (require('../native') as typeof import('../native')).onAddonMissing((reason) => ctx.warn(addonMissing(reason)));
        // as an ordinary user, the command runs again inside the store's user namespace (lib/store/rootless.ts)
        const entered = process.geteuid?.() === 0 ? Promise.resolve() : (require('../store/rootless') as typeof import('../store/rootless')).enterUserNamespace(ctx.storeDir, { onWarning: (m) => ctx.warn(m) });
        store = entered.then(() => (require('../layer-store') as typeof import('../layer-store')).LayerStore.open(ctx.storeDir, { onWarning: (m) => ctx.warn(m) }));
      }
      return store;
    },
    print: (json, text) => {
      const out = results();
      if (out === process.stdout) printed = true;
      out.write((ctx.json ? JSON.stringify(json, null, 2) : text()) + '\n');
    },
    info: (text) => {
      if (!ctx.json) results().write(text + '\n');
    },
    warn: (text) => {
      process.stderr.write(`${paint('yellow', 'warning', process.stderr)}: ${text}\n`);
    },
    dataOut: () => {
      if (process.stdout.isTTY) throw new UsageError('refusing to write binary data to a terminal: redirect stdout, or give -o FILE');
      stdoutIsData = true;
      return process.stdout;
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
    const code = exitCodeOf(e);
    if (code === EXIT_PIPE) return code;
    if (ctx.json) {
      (stdoutIsData || printed ? process.stderr : process.stdout).write(JSON.stringify({ error: errorRecord(e) }, null, 2) + '\n');
    } else {
      const msg = (e as Error)?.message ?? String(e);
      process.stderr.write(`${paint('red', 'layerfs', process.stderr)}: ${msg}\n`);
      if (process.env.LAYERFS_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    }
    return code;
  }
}

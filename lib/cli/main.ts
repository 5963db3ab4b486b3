import type { LayerStore } from '../layer-store';
import type { CliContext } from './context';
import { UsageError } from './usage';
import { paint } from './style';
import { parseFastPath, runFast } from './fast-path';
import { exitCodeOf, errorRecord, EXIT_PIPE } from './exit-codes';
import { stdio, writeOut } from './output';
import { lazy } from '../lazy';

const nativeModule = lazy<typeof import('../native')>(() => require('../native'));
const rootlessModule = lazy<typeof import('../store/rootless')>(() => require('../store/rootless'));
const layerStoreModule = lazy<typeof import('../layer-store')>(() => require('../layer-store'));
const programModule = lazy<typeof import('./program')>(() => require('./program'));

/*
 * Startup is most of what a short command costs, so this module loads little: the store (and
 * with it the library) only when a command opens it, commander only when the command line is
 * not one the fast path reads, and each command's heavy parts only when it runs.
 */

/** Exit codes: 0 success, 1 failure, 2 usage error (lib/cli/exit-codes.ts). */
export async function main(argv: string[]): Promise<void> {
  const code = await run(argv);
  if (code !== 0) process.exitCode = code;
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
  const results = (): 1 | 2 => (stdoutIsData ? 2 : 1);
  const ctx: CliContext = {
    json: false,
    store: () => {
      if (!store) {
        // the store is what loads the addon: a missing one is said once, on stderr
        nativeModule().onAddonMissing((reason) => ctx.warn(addonMissing(reason)));
        // as an ordinary user, the command runs again inside the store's user namespace (lib/store/rootless.ts)
        const entered = process.geteuid?.() === 0 ? Promise.resolve() : rootlessModule().enterUserNamespace(ctx.storeDir, { onWarning: (m) => ctx.warn(m) });
        store = entered.then(() => layerStoreModule().LayerStore.open(ctx.storeDir, { onWarning: (m) => ctx.warn(m) }));
      }
      return store;
    },
    print: (json, text) => {
      const out = results();
      if (out === 1) printed = true;
      writeOut(out, (ctx.json ? JSON.stringify(json, null, 2) : text()) + '\n');
    },
    info: (text) => {
      if (!ctx.json) writeOut(results(), text + '\n');
    },
    warn: (text) => {
      writeOut(2, `${paint('yellow', 'warning', stdio(2))}: ${text}\n`);
    },
    dataOut: () => {
      const out = stdio(1);
      if (out.isTTY) throw new UsageError('refusing to write binary data to a terminal: redirect stdout, or give -o FILE');
      stdoutIsData = true;
      return out;
    },
  };
  // --json must also shape errors raised before any action runs
  ctx.json = argv.includes('--json');
  try {
    const fast = parseFastPath(argv);
    if (!fast) {
      // commander and the commands it runs write to process.stdout and stderr themselves
      stdio(1);
      stdio(2);
      return await programModule().runProgram(argv, ctx);
    }
    await runFast(fast, ctx);
    return 0;
  } catch (e) {
    const code = exitCodeOf(e);
    if (code === EXIT_PIPE) return code;
    if (ctx.json) {
      writeOut(stdoutIsData || printed ? 2 : 1, JSON.stringify({ error: errorRecord(e) }, null, 2) + '\n');
    } else {
      const msg = (e as Error)?.message ?? String(e);
      writeOut(2, `${paint('red', 'layerfs', stdio(2))}: ${msg}\n`);
      if (process.env.LAYERFS_DEBUG && e instanceof Error) writeOut(2, `${e.stack}\n`);
    }
    return code;
  }
}

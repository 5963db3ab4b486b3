import type { CliContext } from './context';
import type { CreateFlags } from './commands/create';
import type { RunFlags } from './commands/run';
// lib/types.ts loads nothing at run time: the list costs the fast path no module of note
import { DRIVER_CHOICES } from '../types';
import { lazy } from '../lazy';

const umountModule = lazy<typeof import('./commands/umount')>(() => require('./commands/umount'));
const runModule = lazy<typeof import('./commands/run')>(() => require('./commands/run'));
const mountModule = lazy<typeof import('./commands/mount')>(() => require('./commands/mount'));
const createModule = lazy<typeof import('./commands/create')>(() => require('./commands/create'));

/**
 * The most frequent command lines, `create`, `mount`, `umount` and `run`, read without commander: loading it
 * costs a short command about as much as the command's own work. Only plain, unambiguous lines
 * are taken: long options with a value (`--store DIR` or `--store=DIR`, no value that starts
 * with '-', none given twice), `--json`, `--read-only`, `--mount`, `--rm` and `--commit` flags, and exactly the operands the
 * command wants (one, or for `umount` one or more; for `run` the image, and everything after it
 * is the command's, as `separateCommand` gives it to commander, a `--` right after it dropped). Anything else (help, version, short options, `--`, a bad driver, a missing
 * operand, an unknown option) returns null and goes to commander, which decides what it means
 * and words any usage error; what is taken here runs the same action commander would call,
 * with the same values.
 */
export type FastCommand = { store?: string; json: boolean } & (
  | { command: 'create'; operand: string; flags: CreateFlags }
  | { command: 'mount'; operand: string }
  | { command: 'umount'; operand: string[] }
  | { command: 'run'; operand: string; args: string[]; flags: RunFlags }
);

type Spec = Record<string, 'value' | 'flag'>;

const GLOBAL: Spec = { store: 'value', json: 'flag' };
const COMMANDS: Record<string, Spec> = {
  create: { driver: 'value', name: 'value', 'read-only': 'flag', mount: 'flag' },
  mount: {},
  umount: {},
  // -e, -w, -u and -t are short options: such lines go to commander
  run: { rm: 'flag', commit: 'flag', 'read-only': 'flag', name: 'value', driver: 'value', runtime: 'value', env: 'value', workdir: 'value', user: 'value', entrypoint: 'value' },
};

export function parseFastPath(argv: string[]): FastCommand | null {
  let command: string | undefined;
  const operands: string[] = [];
  const opts = new Map<string, string | true>();
  let rest: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-')) {
      if (command === 'run') {
        // the image; what follows is the command's own, options and all
        operands.push(arg);
        rest = argv.slice(i + 1);
        if (rest[0] === '--') rest = rest.slice(1);
        break;
      }
      if (command !== undefined) operands.push(arg);
      else if (Object.prototype.hasOwnProperty.call(COMMANDS, arg)) command = arg;
      else return null;
      continue;
    }
    if (!arg.startsWith('--') || arg === '--') return null;
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    // a command's options only after its name, as its help shows them
    const spec = Object.prototype.hasOwnProperty.call(GLOBAL, name) ? GLOBAL : command !== undefined && Object.prototype.hasOwnProperty.call(COMMANDS[command], name) ? COMMANDS[command] : null;
    if (!spec || opts.has(name)) return null;
    if (spec[name] === 'flag') {
      if (eq >= 0) return null;
      opts.set(name, true);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '' || value.startsWith('-')) return null;
    opts.set(name, value);
  }
  if (command === undefined || operands.length === 0) return null;
  const store = opts.get('store') as string | undefined;
  const json = opts.has('json');
  if (command === 'umount') return { store, json, command: 'umount', operand: operands };
  if (operands.length !== 1) return null;
  const [operand] = operands;
  if (command === 'mount') return { store, json, command: 'mount', operand };
  const driver = (opts.get('driver') as string | undefined) ?? 'auto';
  if (!(DRIVER_CHOICES as readonly string[]).includes(driver)) return null;
  if (command === 'run') {
    // as commander gives them: flags true or absent, -e a list (one at most here), the driver defaulted
    const flags: RunFlags = { driver: driver as RunFlags['driver'], env: opts.has('env') ? [opts.get('env') as string] : [] };
    for (const [name, key] of [['rm', 'rm'], ['commit', 'commit'], ['read-only', 'readOnly']] as const) if (opts.has(name)) flags[key] = true;
    for (const key of ['name', 'runtime', 'workdir', 'user', 'entrypoint'] as const) if (opts.has(key)) flags[key] = opts.get(key) as string;
    return { store, json, command: 'run', operand, args: rest ?? [], flags };
  }
  const flags: CreateFlags = { driver: driver as CreateFlags['driver'] };
  if (opts.has('name')) flags.name = opts.get('name') as string;
  if (opts.has('read-only')) flags.readOnly = true;
  if (opts.has('mount')) flags.mount = true;
  return { store, json, command: 'create', operand, flags };
}

/** Runs what parseFastPath read: the same action commander would call. */
export function runFast(fast: FastCommand, ctx: CliContext): Promise<void> {
  ctx.storeDir = fast.store;
  ctx.json = fast.json;
  if (fast.command === 'umount') return umountModule().umount(ctx, fast.operand);
  if (fast.command === 'run') return runModule().run(ctx, fast.operand, fast.args, fast.flags);
  if (fast.command === 'mount') return mountModule().mount(ctx, fast.operand);
  return createModule().create(ctx, fast.operand, fast.flags);
}

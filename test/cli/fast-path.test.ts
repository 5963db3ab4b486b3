import * as path from 'path';
import type { Command } from 'commander';
import { parseFastPath } from '../../lib/cli/fast-path';
import { buildProgram } from '../../lib/cli/program';
import { separateCommand } from '../../lib/cli/commands/run';
import { DRIVER_CHOICES as CLI_DRIVERS } from '../../lib/cli/commands/create';
import { DRIVER_CHOICES } from '../../lib/drivers';
import type { CliContext } from '../../lib/cli/context';
import { cleanup, tempDir } from '../drivers/helpers';
import { layerfs } from './run-cli';

/** What commander makes of a command line: the action it calls and with what, or the usage error. */
async function viaCommander(argv: string[]): Promise<{ command: string; operand: string; flags: Record<string, unknown>; store?: string; json: boolean } | { error: string }> {
  const ctx: CliContext = { json: false, store: () => Promise.reject(new Error('not in this test')), print: () => undefined, info: () => undefined, warn: () => undefined };
  const program = buildProgram(ctx, argv);
  const quiet = (c: Command) => {
    c.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    c.commands.forEach(quiet);
  };
  quiet(program);
  let called: { command: string; operand: string; flags: Record<string, unknown> } | undefined;
  for (const c of program.commands) {
    c.action((operand: string, flags: Record<string, unknown>) => {
      called = { command: c.name(), operand, flags: { ...flags } };
    });
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    return { error: (e as Error).message };
  }
  if (!called) return { error: 'no action ran' };
  return { ...called, store: ctx.storeDir, json: ctx.json };
}

const C = 'sha256:' + 'ab'.repeat(32);

/** Lines the fast path must take, each as commander reads it. */
const taken: string[][] = [
  ['create', C],
  ['--store', '/s', 'create', C, '--driver', 'overlay', '--name', 'x'],
  ['--store=/s', '--json', 'create', '--driver=copy', '--read-only', 'scratch'],
  ['create', '--name', 'web', 'img:latest', '--store', '/s', '--json'],
  ['--json', 'create', 'abc123', '--driver', 'auto'],
  ['create', C, '--driver', 'overlay', '--mount'],
  ['--json', 'create', '--mount', '--name', 'm', C],
  ['mount', 'web'],
  ['--store', '/s', 'mount', 'ab12'],
  ['mount', '--json', C, '--store=/a=b'],
  ['create', 'help'],
  ['--store', 'mount', 'mount', 'x'],
  ['umount', 'web'],
  ['--json', 'umount', 'a', C, 'ab12', '--store=/s'],
];

/** Lines left to commander (help, versions, short options, errors, odd forms). */
const left: string[][] = [
  [],
  ['--help'],
  ['-h'],
  ['-V'],
  ['create'],
  ['create', '--help'],
  ['create', 'a', 'b'],
  ['create', C, '--driver', 'zfs'],
  ['create', C, '--driver'],
  ['create', C, '--name', '--json'],
  ['create', C, '--name='],
  ['create', C, '--name', 'a', '--name', 'b'],
  ['create', C, '--json=1'],
  ['create', C, '--mount=yes'],
  ['create', C, '--mount', '--mount'],
  ['create', C, '--verbose'],
  ['create', '--', C],
  ['create', '-'],
  ['--driver', 'copy', 'create', C],
  ['mount'],
  ['mount', 'a', 'b'],
  ['mount', '--driver', 'copy', 'a'],
  ['mount', '-x'],
  ['umount'],
  ['umount', '-x', 'a'],
  ['umount', 'a', '--read-only'],
  ['umount', 'a', '--', 'b'],
  ['help', 'mount'],
  ['ls'],
  ['rm', 'x'],
  ['--store', '-s', 'mount', 'x'],
];

/** What commander gives `run`'s action (after separateCommand, as runProgram does). */
async function runViaCommander(argv: string[]): Promise<Record<string, unknown>> {
  const ctx: CliContext = { json: false, store: () => Promise.reject(new Error('not in this test')), print: () => undefined, info: () => undefined, warn: () => undefined };
  const program = buildProgram(ctx, argv);
  program.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  let called: Record<string, unknown> | undefined;
  for (const c of program.commands) c.configureOutput({ writeErr: () => undefined, writeOut: () => undefined }).action((operand: string, args: string[], flags: Record<string, unknown>) => (called = { operand, args, flags: { ...flags } }));
  await program.parseAsync(separateCommand(argv, 'run', 1), { from: 'user' });
  return { ...called, store: ctx.storeDir, json: ctx.json };
}

/** `run` lines the fast path takes: everything after the image is the command's. */
const runTaken: string[][] = [
  ['run', 'img', 'true'],
  ['run', '--rm', 'img'],
  ['--store', '/s', 'run', '--rm', '--driver', 'overlay', 'img:latest', 'sh', '-c', 'echo $X; exit 3'],
  ['--json', 'run', '--name', 'web', '--runtime', 'crun', '--read-only', '--commit', C, '--', 'ls', '-l', '--', '-x'],
  ['run', '--env', 'A=1', '--workdir', '/tmp', '--user', '1000:1000', '--entrypoint', '["sh","-c"]', 'img', 'echo', '--rm'],
  ['run', '--store=/s', '--entrypoint=echo', 'img', '--json', '--store', '/t'],
];

/** `run` lines left to commander. */
const runLeft: string[][] = [
  ['run'],
  ['run', '--rm'],
  ['run', '-e', 'A=1', 'img', 'true'],
  ['run', '-t', 'img', 'sh'],
  ['run', '--tty', 'img', 'sh'],
  ['run', '--env', 'A=1', '--env', 'B=2', 'img'],
  ['run', '--entrypoint', '', 'img', 'x'],
  ['run', '--driver', 'zfs', 'img'],
  ['run', '--help'],
  ['run', '--', 'img', 'true'],
  ['run', '--rm=1', 'img'],
];

describe('the CLI fast path: run', () => {
  test.each(runTaken.map((a) => [a.join(' '), a]))('takes `%s` exactly as commander reads it', async (_l, argv) => {
    const fast = parseFastPath(argv as string[]);
    expect(fast).not.toBeNull();
    if (fast!.command !== 'run') throw new Error(`read as ${fast!.command}`);
    expect(await runViaCommander(argv as string[])).toEqual({ operand: fast!.operand, args: fast!.args, flags: fast!.flags, store: fast!.store, json: fast!.json });
  });

  test.each(runLeft.map((a) => [a.join(' '), a]))('leaves `%s` to commander', (_l, argv) => {
    expect(parseFastPath(argv as string[])).toBeNull();
  });
});

describe('the CLI fast path', () => {
  test.each(taken.map((a) => [a.join(' '), a]))('takes `%s` exactly as commander reads it', async (_l, argv) => {
    const fast = parseFastPath(argv as string[]);
    expect(fast).not.toBeNull();
    const { command, operand, store, json } = fast!;
    const flags = fast!.command === 'create' ? fast!.flags : {};
    expect(await viaCommander(argv as string[])).toEqual({ command, operand, flags, store, json });
  });

  test.each(left.map((a) => [a.join(' ') || '(nothing)', a]))('leaves `%s` to commander', (_l, argv) => {
    expect(parseFastPath(argv as string[])).toBeNull();
  });

  test('knows the same drivers as the library and as `create --help`', () => {
    expect(CLI_DRIVERS).toEqual(DRIVER_CHOICES);
    expect(parseFastPath(['create', C, '--driver', 'copy'])).not.toBeNull();
    for (const d of DRIVER_CHOICES) expect(parseFastPath(['create', C, '--driver', d])).not.toBeNull();
  });
});

describe('the fast path and commander print the same', () => {
  let work: string;
  let store: string;
  beforeAll(() => {
    work = tempDir('cli-fast-path');
    store = path.join(work, 'store');
  });
  afterAll(() => cleanup(work));

  /** `--` sends a line to commander with the same meaning. */
  const both = (before: string[], after: string[]) => {
    const fast = layerfs(['--store', store, ...before, ...after]);
    const slow = layerfs(['--store', store, ...before, '--', ...after]);
    expect({ code: slow.code, stdout: slow.stdout, stderr: slow.stderr }).toEqual({ code: fast.code, stdout: fast.stdout, stderr: fast.stderr });
    return fast;
  };

  test('failures, in text and JSON', () => {
    const missing = 'sha256:' + 'e'.repeat(64);
    expect(both(['create'], [missing]).code).toBe(1);
    expect(both(['--json', 'create'], [missing]).json().error.code).toBe('LAYERFS_NOT_FOUND');
    expect(both(['create', '--driver', 'copy'], ['zz-not-hex']).code).toBe(2); // a malformed ChainID: a usage error
    expect(both(['mount'], ['nope']).stderr).toContain('no container "nope"');
    expect(both(['--json', 'mount'], ['nope']).json().error.code).toBe('LAYERFS_NOT_FOUND');
  });

  test('a mount, in text and JSON', () => {
    const id = layerfs(['--store', store, 'create', 'scratch', '--driver', 'copy', '--name', 'fp']).stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(both(['mount'], [id]).stdout).toMatch(/\/containers\/[0-9a-f]{64}\/root\n$/);
    expect(both(['--json', 'mount'], ['fp']).json()).toMatchObject({ id, driver: 'copy' });
    expect(both(['umount'], ['fp', id]).stdout).toBe(`${id}\n${id}\n`);
    expect(both(['--json', 'umount'], ['fp']).json()).toEqual({ unmounted: [id] });
    expect(both(['umount'], ['nope']).stderr).toContain('no container "nope"');
    expect(layerfs(['--store', store, 'rm', id]).code).toBe(0);
  });
});

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Command } from 'commander';
import { buildProgram } from '../../lib/cli/program';
import type { CliContext } from '../../lib/cli/context';
import { layerfs, CliResult } from './run-cli';
import { unmet } from '../fixtures/peers';
import { busyboxUnmet, makeBusyboxRoot } from '../fixtures/busybox';
import { startRegistry, type RegistryServer } from '../registry/registry-server';

/*
 * Every command, table-driven: usage errors exit 2, failures 1, success 0; under --json stdout
 * is exactly one JSON document every time (the result, or {"error":{code,message}}).
 */

/** Every runnable command of the program, as its words: ['image', 'export'], ['ls'], ... */
function leafCommands(): Array<{ words: string[]; cmd: Command }> {
  const program = buildProgram({ json: false } as CliContext, []);
  const out: Array<{ words: string[]; cmd: Command }> = [];
  const walk = (c: Command, words: string[]) => {
    if (!c.commands.length) out.push({ words, cmd: c });
    for (const sub of c.commands) walk(sub, [...words, sub.name()]);
  };
  walk(program, []);
  return out;
}
const leaves = leafCommands();

// made at load: the test tables below are built when the file is collected
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-cli-exit-'));
const store = path.join(work, 'store');
let chain: string;
const run = (...args: string[]) => layerfs(['--store', store, ...args]);
/** Why login, pull and push cannot succeed here (they need a registry: docker-registry on 127.0.0.1), or null. */
const noRegistry = unmet(['docker-registry']).join('; ') || null;
let registry: RegistryServer | undefined;

beforeAll(async () => {
  if (!noRegistry) registry = await startRegistry();
  for (const d of ['a', 'b']) {
    fs.mkdirSync(path.join(work, d));
    fs.writeFileSync(path.join(work, d, 'f'), d);
  }
  execFileSync('tar', ['-cf', path.join(work, 'a.tar'), '-C', path.join(work, 'a'), '.']);
  chain = run('--json', 'import', path.join(work, 'a.tar')).json().chainId;
  expect(run('image', 'export', chain, '-o', path.join(work, 'layout'), '--tag', 'base').code).toBe(0);
  expect(run('image', 'import', `${path.join(work, 'layout')}:base`, '--name', 'img').code).toBe(0);
  expect(run('create', chain, '--driver', 'copy', '--name', 'c1').code).toBe(0);
}, 60_000);
afterAll(async () => {
  await registry?.stop();
  for (const c of (run('--json', 'ls').json().containers ?? []) as { id: string }[]) run('rm', c.id);
  fs.rmSync(work, { recursive: true, force: true });
});

/** Why `run` cannot succeed here (it needs runc and a root filesystem with a program), or null. */
const noRun = unmet(['root', 'addon', 'runc']).concat(busyboxUnmet() ?? []).join('; ') || null;

/** A busybox layer, imported on first use. */
let busybox: string | undefined;
function busyboxChain(): string {
  if (!busybox) {
    makeBusyboxRoot(path.join(work, 'busybox'));
    execFileSync('tar', ['--numeric-owner', '-cf', path.join(work, 'busybox.tar'), '-C', path.join(work, 'busybox'), '.']);
    busybox = run('--json', 'import', path.join(work, 'busybox.tar')).json().chainId as string;
  }
  return busybox;
}

/** Under --json: stdout parses as one document (JSON.parse refuses two). */
function oneDocument(r: CliResult): any {
  try {
    return JSON.parse(r.stdout);
  } catch (e) {
    throw new Error(`stdout is not one JSON document (${(e as Error).message}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

/** Exit 2 under --json with one error document on stdout, and (`text`) without it: a message on stderr and nothing on stdout. */
function expectUsageError(args: string[], text = true): void {
  if (text) {
    const t = run(...args);
    expect({ args, code: t.code, stdout: t.stdout }).toEqual({ args, code: 2, stdout: '' });
    expect(t.stderr).not.toBe('');
    expect(t.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  }
  const j = run('--json', ...args);
  expect({ args, code: j.code }).toEqual({ args, code: 2 });
  const doc = oneDocument(j);
  expect(Object.keys(doc)).toEqual(['error']);
  expect(doc.error).toEqual(expect.objectContaining({ code: expect.stringMatching(/^LAYERFS_(USAGE|INVALID_ARGUMENT)$/), message: expect.any(String) }));
}

describe('usage errors exit 2, with one JSON error document under --json', () => {
  test.each(leaves.map((l) => [l.words.join(' '), l]))('%s: an unknown option', (_n, l) => {
    expectUsageError([...l.words, '--no-such-option'], false);
  });

  const needy = leaves.filter((l) => l.cmd.registeredArguments.some((a) => a.required) || l.cmd.options.some((o) => o.mandatory));
  test.each(needy.map((l) => [l.words.join(' '), l]))('%s: a missing argument or required option', (_n, l) => {
    expectUsageError(l.words, false);
  });

  test('no command, an unknown command', () => {
    expectUsageError([]);
    expectUsageError(['no-such-command']);
    expectUsageError(['image']);
  });

  const bad: Array<[string, string[]]> = [
    ['import: a bad --parent digest', ['import', path.join(work, 'a.tar'), '--parent', 'sha256:abc']],
    ['import: no such file', ['import', path.join(work, 'missing.tar')]],
    ['export: a bad ChainID', ['export', 'not-a-digest', '-o', path.join(work, 'x.tar')]],
    ['create: a bad ChainID', ['create', 'xyz!']],
    ['create: a driver that is not one', ['create', '__chain__', '--driver', 'zfs']],
    ['create: a bad name', ['create', '__chain__', '--name', 'no spaces']],
    ['diff: something that is no tree', ['diff', 'no-such-thing', path.join(work, 'a')]],
    ['commit: a bad --source-date-epoch', ['commit', 'c1', '--source-date-epoch', 'soon']],
    ['commit: a compression that is not one', ['commit', 'c1', '--compress', 'rar']],
    ['image export: a bad tag', ['image', 'export', '__chain__', '-o', path.join(work, 'out'), '--tag', 'Bad Tag!']],
    ['image export: -o - (an image is no stream; no file named "-" is made)', ['image', 'export', '__chain__', '-o', '-', '--format', 'oci-archive']],
    ['image build: -o -', ['image', 'build', '--from', 'img', '--layer', path.join(work, 'b'), '-o', '-', '--format', 'docker-archive']],
    ['image export: a format that is not one', ['image', 'export', '__chain__', '-o', path.join(work, 'out'), '--format', 'zip']],
    ['image build: bad --entrypoint JSON', ['image', 'build', '--from', 'img', '--layer', path.join(work, 'b'), '-o', path.join(work, 'out'), '--entrypoint', '["sh", -c]']],
    ['image build: --cmd JSON that is not an array of strings', ['image', 'build', '--from', 'img', '--layer', path.join(work, 'b'), '-o', path.join(work, 'out'), '--cmd', '[1]']],
    ['image build: a bad --owner', ['image', 'build', '--from', 'img', '--layer', path.join(work, 'b'), '-o', path.join(work, 'out'), '--owner', 'root']],
    ['layer build: a bad --parent digest', ['layer', 'build', path.join(work, 'b'), '--parent', 'nope']],
    ['layer build: a bad --mode', ['layer', 'build', path.join(work, 'b'), '--mode', '999']],
    ['layer build: a bad --mtime', ['layer', 'build', path.join(work, 'b'), '--mtime', 'never']],
    ['layer build: a prefix with ..', ['layer', 'build', path.join(work, 'b'), '--prefix', '/app/../..']],
    ['layers: no image, no image path, no ChainID', ['layers', 'no-such-image']],
    ['layers: a layer number out of range', ['layers', 'img', '--layer', '9']],
    ['layers: a threshold that is no number', ['layers', 'img', '--ci', '--lowest-efficiency', 'high']],
    ['rmi: a bad ChainID', ['rmi', 'not-a-digest']],
    ['run: bad --entrypoint JSON', ['run', '--rm', '--entrypoint', '["sh",', '__chain__', 'x']],
    ['run: an -e without =', ['run', '--rm', '-e', 'NOVALUE', '__chain__', 'true']],
    ['bundle: bad --entrypoint JSON', ['bundle', '--entrypoint', '[1]', 'c1', path.join(work, 'bundle-bad')]],
    ['login: a registry name with a space', ['login', 'a b', '-u', 'u', '-p', 'p']],
    ['login: --tls-verify that is no boolean', ['login', '127.0.0.1:1', '-u', 'u', '-p', 'p', '--tls-verify=maybe']],
    ['logout: a registry name with a space', ['logout', 'a b']],
    ['logout: neither a registry nor --all', ['logout']],
    ['logout: a registry and --all', ['logout', 'r.example', '--all']],
    ['pull: a reference that is none', ['pull', 'Upper/Case!']],
    ['pull: --jobs 0', ['pull', '127.0.0.1:1/x:y', '--jobs', '0']],
    ['pull: --tls-verify that is no boolean', ['pull', '127.0.0.1:1/x:y', '--tls-verify=maybe']],
    ['push: to a digest', ['push', 'img', `127.0.0.1:1/x@sha256:${'0'.repeat(64)}`]],
    ['copy: a name with no transport', ['copy', path.join(work, 'layout'), `oci:${path.join(work, 'copy-bad')}`]],
    // the later --store is the one taken: a file is no store
    ['ls: a --store that is a file', ['--store', path.join(work, 'a.tar'), 'ls']],
    ['image import: a --store below a file', ['--store', path.join(work, 'a.tar', 'store'), 'image', 'import', `${path.join(work, 'layout')}:base`]],
  ];
  test.each(bad)('%s', (_n, args) => {
    expectUsageError(args.map((x) => x.replace('__chain__', chain)));
  });
  test('none of them changed the store, or wrote a file named "-"', () => {
    expect(fs.existsSync('-')).toBe(false);
    const ls = run('--json', 'ls').json();
    expect(ls.layers.map((l: { chainId: string }) => l.chainId)).toEqual([chain]);
    expect(ls.containers.map((c: { name: string }) => c.name)).toEqual(['c1']);
  });
});

describe('failures exit 1, with one JSON error document under --json', () => {
  const zero = 'sha256:' + '0'.repeat(64);
  test.each([
    ['mount: no such container', ['mount', 'no-such-container'], 'LAYERFS_NOT_FOUND'],
    ['rm: no such container', ['rm', 'no-such-container'], 'LAYERFS_NOT_FOUND'],
    ['commit: no such container', ['commit', 'no-such-container'], 'LAYERFS_NOT_FOUND'],
    ['export: no such layer', ['export', zero, '-o', '/dev/null'], 'LAYERFS_NOT_FOUND'],
    ['rmi: a layer in use', ['rmi', '__chain__'], 'LAYERFS_IN_USE'],
    ['image build: no such base image', ['image', 'build', '--from', 'no-such-image', '--layer', '__b__', '-o', '__out__'], 'LAYERFS_NOT_FOUND'],
    ['login: nothing listens there', ['login', '127.0.0.1:1', '-u', 'u', '-p', 'p', '--authfile', '__out__'], 'LAYERFS_REGISTRY_UNREACHABLE'],
    ['logout: not logged in', ['logout', 'nowhere.example', '--authfile', '__out__'], 'LAYERFS_NOT_FOUND'],
    ['pull: no registry listening there', ['pull', '127.0.0.1:1/x:y', '--tls-verify=false'], 'LAYERFS_REGISTRY_UNREACHABLE'],
    ['push: no such image or container', ['push', 'no-such-image', '127.0.0.1:1/x:y'], 'LAYERFS_NOT_FOUND'],
    ['copy: no such layout', ['copy', 'oci:__out__:x', 'oci:__out__-copy'], 'LAYERFS_NOT_FOUND'],
  ])('%s', (_n, args, code) => {
    const a = (args as string[]).map((x) => x.replace('__chain__', chain).replace('__b__', path.join(work, 'b')).replace('__out__', path.join(work, 'nothing')));
    const t = run(...a);
    expect(t.code).toBe(1);
    expect(t.stdout).toBe('');
    expect(t.stderr).toMatch(/^layerfs: .+\n$/);
    const j = run('--json', ...a);
    expect(j.code).toBe(1);
    expect(oneDocument(j).error).toMatchObject({ code, message: expect.any(String) });
  });
});

describe('success: --json prints one document, for every command', () => {
  const out = (n: string) => path.join(work, n);
  // in order: later rows use what earlier ones made
  const rows = (): Array<[string, string[], (doc: any) => void]> => [
    ['import', ['import', out('a.tar')], (d) => expect(d.chainId).toBe(chain)],
    ['export', ['export', '__chain__', '-o', out('e.tar')], (d) => expect(d).toMatchObject({ chainId: chain, output: out('e.tar') })],
    ['ls', ['ls'], (d) => expect(d.layers).toHaveLength(1)],
    ['create', ['create', '__chain__', '--driver', 'copy', '--name', 'c2'], (d) => expect(d.name).toBe('c2')],
    ['mount', ['mount', 'c2'], (d) => fs.writeFileSync(path.join(d.path, 'new'), 'n')],
    ['diff', ['diff', 'c2'], (d) => expect(d.changes.map((c: { path: string }) => c.path)).toEqual(['/new'])],
    ['commit', ['commit', 'c2', '--compress', 'none'], (d) => expect(d.chainId).toMatch(/^sha256:/)],
    ['umount', ['umount', 'c2'], (d) => expect(d.unmounted).toHaveLength(1)],
    ['rm', ['rm', 'c2'], (d) => expect(d.removed).toHaveLength(1)],
    ['image import', ['image', 'import', `${out('layout')}:base`, '--name', 'img2'], (d) => expect(d.chain).toBe(chain)],
    ['image tag', ['image', 'tag', 'img2', 'img3'], (d) => expect(d).toMatchObject({ name: 'img3', chain })],
    ['image rm', ['image', 'rm', 'img3'], (d) => expect(d.removed.map((r: { name: string }) => r.name)).toEqual(['img3'])],
    ['image ls', ['image', 'ls'], (d) => expect(d.images.map((i: { name: string }) => i.name)).toEqual(expect.arrayContaining(['img', 'img2']))],
    ['image export', ['image', 'export', '__chain__', '-o', out('layout2')], (d) => expect(d.manifestDigest).toMatch(/^sha256:/)],
    ['image build', ['image', 'build', '--from', 'img', '--layer', out('b'), '-o', out('built'), '--entrypoint', '["sh","-c"]'], (d) => expect(d.layers).toHaveLength(1)],
    ['layer build', ['layer', 'build', out('b'), '--prefix', '/srv'], (d) => expect(d.added).toBe(true)],
    ['layers', ['layers', 'img'], (d) => expect(d.layers).toHaveLength(1)],
    ['fsck', ['fsck'], (d) => expect(d.problems).toEqual([])],
    ['rmi', ['rmi', '__built__'], (d) => expect(d.removed).toMatch(/^sha256:/)],
    ['gc', ['gc'], (d) => expect(d).toHaveProperty('bytes')],
    ...(noRegistry
      ? []
      : ([
          ['login', ['login', '__registry__', '-u', 'u', '-p', 'p', '--tls-verify=false', '--authfile', out('auth.json')], (d: any) => expect(d.file).toBe(out('auth.json'))],
          ['logout', ['logout', '__registry__', '--authfile', out('auth.json')], (d: any) => expect(JSON.parse(fs.readFileSync(d.file, 'utf8')).auths).toEqual({})],
        ] as Array<[string, string[], (doc: any) => void]>)),
    ['bundle', ['bundle', 'c1', out('bundle'), 'true'], (d) => expect(fs.existsSync(d.config)).toBe(true)],
    ['unshare', ['unshare', 'true'], (d) => expect(d).toEqual({ exitCode: 0 })],
    ['copy', ['copy', `oci:${out('layout')}:base`, `oci:${out('copied')}:c`], (d) => expect(d.manifestDigest).toMatch(/^sha256:/)],
    ...(noRegistry
      ? []
      : ([
          ['push', ['push', 'img', 'docker://__registry__/cli/img:v1', '--tls-verify=false'], (d: any) => expect(d.manifestDigest).toMatch(/^sha256:/)],
          ['pull', ['pull', '__registry__/cli/img:v1', '--tls-verify=false', '--name', 'pulled'], (d: any) => expect(d).toMatchObject({ name: 'pulled', chain })],
        ] as Array<[string, string[], (doc: any) => void]>)),
    // last: it adds a layer (a root filesystem with a program to run) that the rows above do not expect
    ...(noRun ? [] : ([['run', ['run', '--rm', '__busybox__', 'true'], (d: any) => expect(d).toMatchObject({ exitCode: 0, signal: null })]] as Array<[string, string[], (doc: any) => void]>)),
  ];
  if (noRun) console.warn(`skipped the success row of run: ${noRun}`);
  if (noRegistry) console.warn(`skipped the success rows of login, logout, pull and push: ${noRegistry}`);

  test('--version under --json is one document too', () => {
    const v = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')).version;
    for (const args of [['--json', '--version'], ['--version', '--json'], ['--json', '-V']]) {
      const r = run(...args);
      expect({ args, code: r.code, doc: oneDocument(r) }).toEqual({ args, code: 0, doc: { version: v } });
    }
    expect(run('--version').stdout).toBe(`${v}\n`);
  });

  test('every command has a row here', () => {
    const covered = new Set(rows().map(([n]) => n));
    if (noRun) covered.add('run');
    if (noRegistry) for (const n of ['login', 'logout', 'pull', 'push']) covered.add(n);
    expect(leaves.map((l) => l.words.join(' ')).filter((n) => !covered.has(n))).toEqual([]);
  });

  let built = '';
  test.each(rows().map((r) => [r[0], r]))('%s', (_n, [name, args, check]) => {
    const a = args.map((x) => x.replace('__registry__', () => registry!.host).replace('__built__', built).replace('__chain__', chain).replace('__busybox__', () => busyboxChain()));
    const r = run('--json', ...a);
    expect({ name, code: r.code, stderr: r.stderr }).toEqual({ name, code: 0, stderr: '' });
    const doc = oneDocument(r);
    expect(doc).not.toHaveProperty('error');
    check(doc);
    if (name === 'layer build') built = doc.chainId;
  });
});

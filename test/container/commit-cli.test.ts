import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import { layerfs } from '../cli/run-cli';
import { makeTempDir } from '../fixtures/tmp';
import { removeWork, writeBaseTars } from '../diff/scripted';
import { listTar } from './tar-listing';

/** `layerfs diff` and `layerfs commit` on a copy container (no privilege needed). */
let work: string;
let store: string;
const run = (...args: string[]) => layerfs(['--store', store, ...args]);

beforeAll(async () => {
  work = makeTempDir('commit-cli');
  store = path.join(work, 'store');
});
afterAll(() => {
  for (const c of (run('--json', 'ls').json().containers ?? []) as Array<{ id: string }>) run('rm', c.id);
  removeWork(work);
});

test('diff lists docker-diff lines; commit prints the DiffID and ChainID and writes the blob asked for', async () => {
  const [l1, l2] = await writeBaseTars(work);
  const base = run('--json', 'import', l1).json();
  const top = run('--json', 'import', l2, '--parent', base.chainId).json();
  expect(top.chainId).toMatch(/^sha256:/);
  run('create', top.chainId, '--driver', 'copy', '--name', 'c1');
  const root = run('mount', 'c1').stdout.trim();
  fs.appendFileSync(path.join(root, 'etc/motd'), 'more\n');
  fs.rmSync(path.join(root, 'var/log'), { recursive: true });
  fs.writeFileSync(path.join(root, 'new'), 'n');

  const d = run('diff', 'c1');
  expect(d.code).toBe(0);
  expect(d.stdout.trim().split('\n')).toEqual(['C /etc/motd', 'A /new', 'D /var/log']);
  const records = run('--json', 'diff', 'c1').json().changes;
  expect(records.map((c: { kind: string; path: string }) => `${c.kind} ${c.path}`)).toEqual(['C /etc/motd', 'A /new', 'D /var/log']);
  expect(records[0]).toMatchObject({ type: 'file', what: ['content'] });
  expect(records[0].source).toBeUndefined();

  const text = run('commit', 'c1', '--compress', 'none');
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/^DiffID: +sha256:[0-9a-f]{64}\nChainID: +sha256:[0-9a-f]{64}\n$/);
  // the same state again, zstd this time, to a file: that file is zstd, with the same DiffID; the
  // layer is the one the store has (uncompressed), and the file is this commit's own blob
  const out = path.join(work, 'layer.tar.zst');
  const z = run('--json', 'commit', 'c1', '--compress', 'zstd', '-o', out).json();
  expect(z.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
  expect(z.output).toMatchObject({ path: out, mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' });
  expect(text.stdout).toContain(z.diffId);
  const bytes = fs.readFileSync(out);
  expect(bytes.readUInt32LE(0)).toBe(0xfd2fb528);
  expect('sha256:' + createHash('sha256').update(bytes).digest('hex')).toBe(z.output.digest);
  expect(z.output.size).toBe(bytes.length);
  expect((await listTar(out)).map((e) => e.name)).toEqual(['etc/', 'etc/motd', 'new', 'var/', 'var/.wh.log']);

  // the tree of the new chain against the container: nothing differs
  expect(run('diff', z.chainId, 'c1').stdout.trim()).toBe('');
  expect(run('commit', 'no-such-container').code).not.toBe(0);
});

/**
 * applyLayer with the chain below given late (a function: the layers of one image are applied
 * side by side) and with a file range as input (a member of an archive read in place).
 */
import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import { applyLayer } from '../../lib/tar/apply-in-worker';
import { addonStatus, lgetxattrSync, lsetxattrSync } from '../../lib/native';
import { rawTar, gzip, Sandbox } from '../fixtures/hostile-tar';

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const addon = addonStatus().available;

const dist = path.resolve(__dirname, '../../dist/lib/tar/apply.worker.js');
beforeAll(() => {
  if (!fs.existsSync(dist)) throw new Error(`${dist} is missing: build with \`npx tsc -p tsconfig.json\` first`);
});

let sb: Sandbox;
beforeEach(() => (sb = new Sandbox('apply-lower', ['in', 'blob', 'lower', 'target2'])));
afterEach(() => sb.remove());

/** A lower layer whose directories have modes, times and an xattr an implicit parent must take. */
function makeLower(): string {
  const lower = path.join(sb.work, 'lower');
  fs.mkdirSync(path.join(lower, 'usr/lib'), { recursive: true });
  fs.mkdirSync(path.join(lower, 'srv'), { recursive: true });
  fs.writeFileSync(path.join(lower, 'usr/lib/old'), 'old');
  fs.chmodSync(path.join(lower, 'usr/lib'), 0o750);
  fs.chmodSync(path.join(lower, 'srv'), 0o700);
  if (addon) {
    lsetxattrSync(path.join(lower, 'usr/lib'), 'user.lower', Buffer.from('L'));
    lsetxattrSync(path.join(lower, 'srv'), 'user.lower', Buffer.from('S'));
  }
  fs.utimesSync(path.join(lower, 'usr/lib'), 1100000000, 1100000000);
  fs.utimesSync(path.join(lower, 'usr'), 1000000000, 1000000000);
  fs.utimesSync(path.join(lower, 'srv'), 1200000000, 1200000000);
  return lower;
}

// usr and usr/lib are implicit parents; srv is implicit first and given explicitly later
const layer = rawTar([
  { name: 'usr/lib/new', body: 'new', mtime: 1500000000 },
  { name: 'srv/data', body: 'd', mtime: 1500000000 },
  { name: 'srv/', type: '5', mode: 0o711, mtime: 1300000000, pax: { 'SCHILY.xattr.user.own': 'mine' } },
  { name: 'fresh/file', body: 'f', mtime: 1500000000 },
]);

function describeTree(root: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (rel: string) => {
    const p = path.join(root, rel);
    const st = fs.lstatSync(p);
    out[rel || '.'] = {
      mode: st.mode & 0o7777,
      mtime: st.isDirectory() && (rel === '' || rel === 'fresh') ? null : st.mtimeMs, // made now: no lower copy to date them
      uid: st.uid,
      xattrs: addon ? [lgetxattrSync(p, 'user.lower')?.toString() ?? null, lgetxattrSync(p, 'user.own')?.toString() ?? null] : null,
    };
    if (st.isDirectory()) for (const n of fs.readdirSync(p).sort()) walk(rel ? `${rel}/${n}` : n);
  };
  walk('');
  return out;
}

test('a chain below given late gives implicit parents the same metadata as one given at once, and is asked for only when the tar is written', async () => {
  const lower = makeLower();
  const gz = gzip(layer);
  const now = await applyLayer(sb.file('in', gz), sb.target, { whiteout: 'oci', lowerDirs: [lower] });
  const target2 = path.join(sb.work, 'target2');
  fs.mkdirSync(target2);
  let askedWith: string[] | null = null;
  const late = await applyLayer(sb.file('in', gz), target2, {
    whiteout: 'oci',
    lowerDirs: async () => {
      askedWith = fs.readdirSync(target2).sort();
      await new Promise((r) => setTimeout(r, 50));
      return [lower];
    },
  });
  expect(askedWith).toEqual(['fresh', 'srv', 'usr']);
  expect(late).toEqual(now);
  const a = describeTree(sb.target);
  expect(describeTree(target2)).toEqual(a);
  expect(a['usr/lib']).toMatchObject({ mode: 0o750, mtime: 1100000000000, xattrs: addon ? ['L', null] : null });
  expect(a['usr']).toMatchObject({ mtime: 1000000000000 });
  // the explicit entry is the directory's metadata: none of the lower xattrs stay, as when the entry comes first (test/tar/apply-order.test.ts)
  expect(a['srv']).toMatchObject({ mode: 0o711, mtime: 1300000000000, xattrs: addon ? [null, 'mine'] : null });
  expect(a['fresh']).toMatchObject({ mode: 0o755 });
  sb.expectVictimUntouched();
});

test('a chain below that cannot be had fails the apply with its own error and removes the blob', async () => {
  const blob = path.join(sb.work, 'blob');
  const boom = new Error('the layer below failed');
  const e = await applyLayer(sb.file('in', gzip(layer)), sb.target, { whiteout: 'oci', blobPath: blob, lowerDirs: () => Promise.reject(boom) }).catch((x) => x);
  expect(e).toBe(boom);
  expect(fs.existsSync(blob)).toBe(false);
});

test('a file range is read in place: the same result as the bytes alone; a range past the end of the file is an error', async () => {
  const gz = gzip(layer);
  const alone = await applyLayer(sb.file('in', gz), sb.target, { whiteout: 'oci' });
  const before = Buffer.alloc(12345, 'x');
  const after = Buffer.alloc(777, 'y');
  const archive = sb.file('in', Buffer.concat([before, gz, after]));
  const blob = path.join(sb.work, 'blob');
  sb.reset();
  const ranged = await applyLayer({ path: archive, start: before.length, length: gz.length }, sb.target, { whiteout: 'oci', blobPath: blob });
  expect(ranged).toEqual(alone);
  expect(ranged).toMatchObject({ digest: sha(gz), size: gz.length, diffId: sha(layer) });
  expect(fs.readFileSync(blob).equals(gz)).toBe(true);
  sb.reset();
  fs.rmSync(blob);
  const e = await applyLayer({ path: archive, start: before.length + after.length + 10, length: gz.length }, sb.target, { whiteout: 'oci', blobPath: blob }).catch((x) => x);
  expect(e).toBeInstanceOf(Error);
  expect(fs.existsSync(blob)).toBe(false);
});

test('a big file range (several read buffers, reused) hashes and writes every byte', async () => {
  const body = Buffer.alloc(9 << 20);
  for (let i = 0; i < body.length; i += 4096) body.writeUInt32LE(i, i);
  const tar = rawTar([{ name: 'big', body }]);
  for (const input of [tar, gzip(tar)]) {
    sb.reset();
    const file = sb.file('in', Buffer.concat([Buffer.from('head'), input]));
    const r = await applyLayer({ path: file, start: 4, length: input.length }, sb.target, { whiteout: 'oci' });
    expect(r).toMatchObject({ digest: sha(input), diffId: sha(tar), size: input.length });
    expect(fs.readFileSync(path.join(sb.target, 'big')).equals(body)).toBe(true);
  }
});

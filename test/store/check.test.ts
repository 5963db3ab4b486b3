import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { LayerStore } from '../../lib/layer-store';
import { contentIndexSync, readContentIndexSync } from '../../lib/store/content-index';
import { lremovexattrSync, lsetxattrSync } from '../../lib/native';
import { rawTar } from '../fixtures/hostile-tar';
import { itIf } from '../fixtures/peers';

let work: string;
beforeEach(() => (work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-check-'))));
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

function tarOf(name: string, files: Record<string, string>): string {
  const src = path.join(work, 'src-' + name);
  for (const [p, c] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(src, p)), { recursive: true });
    fs.writeFileSync(path.join(src, p), c);
  }
  const out = path.join(work, name + '.tar.gz');
  execFileSync('tar', ['-czf', out, '-C', src, '.']);
  return out;
}

test('fsck reports a tampered layer by path and a bad blob; --repair re-extracts the layer', async () => {
  const store = await LayerStore.open(path.join(work, 's'));
  const l = await store.importLayer(tarOf('a', { 'etc/a': 'a', 'etc/b': 'b', c: 'c' }));
  expect((await store.fsck()).problems).toEqual([]);
  const diff = store.paths.layerDiff(l.chainId);
  fs.writeFileSync(path.join(diff, 'etc/a'), 'tampered');
  fs.writeFileSync(path.join(diff, 'extra'), 'x');
  fs.rmSync(path.join(diff, 'c'));
  const r = await store.fsck();
  expect(r.problems).toHaveLength(1);
  expect(r.problems[0]).toMatchObject({ kind: 'layer', id: l.chainId });
  // the root's mtime moved with the files added and removed in it
  expect(r.problems[0].paths!.map((p) => p.replace(/ \(.*/, ''))).toEqual(['added /extra', 'changed /', 'changed /etc/a', 'removed /c']);
  expect(r.problems[0].paths![2]).toMatch(/^changed \/etc\/a \(content, mtime /);
  const fixed = await store.fsck({ repair: true });
  expect(fixed.problems[0].repaired).toBe(true);
  expect(fs.readFileSync(path.join(diff, 'etc/a'), 'utf8')).toBe('a');
  expect((await store.fsck()).problems).toEqual([]);
  // a blob whose bytes no longer match its name
  const blob = store.paths.blob(l.digest);
  const b = fs.readFileSync(blob);
  b[10] ^= 1;
  fs.writeFileSync(blob, b);
  const bad = await store.fsck();
  expect(bad.problems.map((p) => p.kind)).toEqual(['blob']);
  expect(bad.problems[0].message).toContain(l.digest.slice(7));
});

test('removeLayer refuses a layer in use; gc frees what nothing references', async () => {
  const store = await LayerStore.open(path.join(work, 's'));
  const a = await store.importLayer(tarOf('a', { a: 'a' }));
  const b = await store.importLayer(tarOf('b', { b: 'b' }), { parent: a.chainId });
  const c = await store.createContainer(b.chainId, { driver: 'copy' });
  await expect(store.removeLayer(a.chainId)).rejects.toMatchObject({ code: 'LAYERFS_IN_USE' });
  await expect(store.removeLayer(b.chainId)).rejects.toMatchObject({ code: 'LAYERFS_IN_USE', users: [`container ${c.id}`] });
  const lone = await store.importLayer(tarOf('lone', { lone: '1' }));
  const stray = path.join(store.paths.blobsDir, 'f'.repeat(64));
  fs.writeFileSync(stray, 'stray');
  const g1 = await store.gc();
  expect(g1.blobs).toEqual(['sha256:' + 'f'.repeat(64)]);
  expect(g1.layers).toEqual([]);
  const g2 = await store.gc({ layers: true });
  expect(g2.layers).toEqual([lone.chainId]);
  expect(g2.blobs).toEqual([lone.digest]);
  expect(g2.bytes).toBeGreaterThan(0);
  expect(store.hasLayer(a.chainId) && store.hasLayer(b.chainId)).toBe(true);
  await c.remove();
  await store.removeLayer(b.chainId);
  await store.removeLayer(a.chainId);
  expect(await store.listLayers()).toEqual([]);
});

test('durable imports and commits publish complete layers', async () => {
  const store = await LayerStore.open(path.join(work, 's'));
  const l = await store.importLayer(tarOf('d', { a: 'a' }), { durable: true });
  const c = await store.createContainer(l.chainId, { driver: 'copy' });
  fs.writeFileSync(path.join(await c.mount(), 'b'), 'b');
  const m = await c.commit({ durable: true });
  expect(store.view(m.chainId).readFileSync('/b').toString()).toBe('b');
  expect((await store.fsck()).problems).toEqual([]);
  await c.remove();
});

describe.each(['overlay', 'oci'] as const)('fsck checks metadata too (%s whiteouts)', (fmt) => {
  const needs = fmt === 'overlay' ? ['root', 'addon'] : ['addon'];
  itIf(needs)('a chmod, chown, touch, setxattr or removed opaque marker is reported by path and what differs; --repair restores the layer exactly', async () => {
    const store = await LayerStore.open(path.join(work, 's'), { whiteout: fmt });
    const lower = path.join(work, 'lower.tar');
    fs.writeFileSync(lower, rawTar([{ name: 'p/', type: '5', mode: 0o750, mtime: 500, uid: 7, gid: 8, pax: { 'SCHILY.xattr.user.lower': 'l' } }, { name: 'p/q/', type: '5', mode: 0o700, mtime: 600 }, { name: 'd/', type: '5' }, { name: 'd/old', body: 'o' }]));
    const base = await store.importLayer(lower);
    const upper = path.join(work, 'upper.tar');
    fs.writeFileSync(
      upper,
      rawTar([
        { name: 'd/', type: '5', mode: 0o755, mtime: 2000 },
        { name: 'd/.wh..wh..opq', mtime: 2000 },
        { name: 'd/g', body: 'g', mtime: 2000 },
        { name: 'f', body: 'hello', mode: 0o644, mtime: 3000 },
        { name: 'o', body: 'owned', mtime: 3000 },
        { name: 't', body: 'touched', mtime: 3000 },
        { name: 'x', body: 'x', mtime: 3000, pax: { 'SCHILY.xattr.user.kept': 'k' } },
        // no ./ entry: the root's times are the import's; p and p/q are implicit: they take the lower layer's metadata
        { name: 'p/q/r', body: 'r', mtime: 3000 },
      ]),
    );
    const l = await store.importLayer(upper, { parent: base.chainId });
    expect((await store.fsck()).problems).toEqual([]);
    const diff = store.paths.layerDiff(l.chainId);
    const at = (p: string) => path.join(diff, p);
    const published = contentIndexSync(diff);
    expect(fs.statSync(at('p')).mode & 0o7777).toBe(0o750);
    expect([fs.statSync(at('p')).uid, fs.statSync(at('p')).gid]).toEqual([7, 8]);

    fs.chmodSync(at('f'), 0o600);
    fs.chownSync(at('o'), 1000, 1000);
    fs.utimesSync(at('t'), 4000, 4000);
    lsetxattrSync(at('x'), 'user.added', 'y');
    fs.chmodSync(at('p/q'), 0o755);
    // the implicit parent p: its owner and the xattr it took from the lower chain
    const pTimes = fs.statSync(at('p'));
    fs.chownSync(at('p'), 0, 0);
    lremovexattrSync(at('p'), 'user.lower');
    fs.utimesSync(at('p'), pTimes.atime, pTimes.mtime);
    fs.chmodSync(diff, 0o700);
    const dirTimes = fs.statSync(at('d'));
    if (fmt === 'overlay') lremovexattrSync(at('d'), 'trusted.overlay.opaque');
    else fs.rmSync(at('d/.wh..wh..opq'));
    fs.utimesSync(at('d'), dirTimes.atime, dirTimes.mtime);

    const r = await store.fsck();
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ kind: 'layer', id: l.chainId });
    expect(r.problems[0].paths).toEqual(
      [
        `changed / (mode ${published[0][2].toString(8).padStart(4, '0')} -> 0700)`,
        fmt === 'overlay' ? 'changed /d (xattr trusted.overlay.opaque removed)' : 'removed /d/.wh..wh..opq',
        'changed /f (mode 0644 -> 0600)',
        'changed /o (owner 0:0 -> 1000:1000)',
        'changed /p (owner 7:8 -> 0:0, xattr user.lower removed)',
        'changed /p/q (mode 0700 -> 0755)',
        'changed /t (mtime 3000.000000000 -> 4000.000000000)',
        'changed /x (xattr user.added added)',
      ].sort(),
    );

    const fixed = await store.fsck({ repair: true });
    expect(fixed.problems.map((p) => [p.kind, p.repaired])).toEqual([['layer', true]]);
    expect(fixed.problems[0].message).not.toMatch(/differs from the recorded manifest/);
    expect((await store.fsck()).problems).toEqual([]);
    // exactly as published: every path's content, mode, owner, mtime and xattrs, the root's too
    expect(contentIndexSync(diff)).toEqual(published);
    expect(readContentIndexSync(store.paths.contentIndex(l.chainId))).toEqual(published);
  });
});

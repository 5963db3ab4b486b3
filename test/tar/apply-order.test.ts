/**
 * One tar content, one tree: the order of a layer's entries (a directory's entry after its
 * children, a whiteout or an opaque marker after entries below the name it hides) does not change
 * what the layer gives. Found by the property suite (features childBeforeDir and recreate).
 *
 * The rules (OCI "Applying Changesets", as test/properties/reference.ts computes them): a directory
 * entry is the directory's metadata, xattrs included; a whiteout or opaque marker hides the lower
 * layers only, so a parent this layer makes under a hidden name is a fresh directory, and takes
 * nothing of the lower one it hides.
 */
import * as fs from 'fs';
import * as path from 'path';
import { applyLayer } from '../../lib/tar/apply-in-worker';
import { addonStatus, lgetxattrSync, llistxattrSync, lsetxattrSync } from '../../lib/native';
import type { WhiteoutFormatName } from '../../lib/types';
import { rawTar, RawEntry, Sandbox } from '../fixtures/hostile-tar';

const addon = addonStatus().available;
const root = process.getuid?.() === 0;
if (!addon) console.warn('apply order: skipped: the xattrs these cases turn on need the native addon (npm run build:native)');
const dist = path.resolve(__dirname, '../../dist/lib/tar/apply.worker.js');
beforeAll(() => {
  if (!fs.existsSync(dist)) throw new Error(`${dist} is missing: build with \`npx tsc -p tsconfig.json\` first`);
});

let sb: Sandbox;
beforeEach(() => (sb = new Sandbox('apply-order', ['lower', 'in', 'target2'])));
afterEach(() => sb.remove());

/** The chain below: a (0750, owner 7, user.lower=A) holding b (0711, user.lower=B) holding old. */
function makeLower(): string {
  const lower = path.join(sb.work, 'lower');
  fs.mkdirSync(path.join(lower, 'a/b'), { recursive: true });
  fs.writeFileSync(path.join(lower, 'a/b/old'), 'old');
  fs.chmodSync(path.join(lower, 'a'), 0o750);
  fs.chmodSync(path.join(lower, 'a/b'), 0o711);
  if (root) fs.chownSync(path.join(lower, 'a'), 7, 7);
  if (root) fs.chownSync(path.join(lower, 'a/b'), 7, 7);
  lsetxattrSync(path.join(lower, 'a'), 'user.lower', Buffer.from('A'));
  lsetxattrSync(path.join(lower, 'a/b'), 'user.lower', Buffer.from('B'));
  return lower;
}

/** Mode, owner and every xattr of each directory (overlay's opaque marker included), by path. */
function dirs(top: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (rel: string) => {
    const p = path.join(top, rel);
    const st = fs.lstatSync(p);
    if (!st.isDirectory()) return;
    const xattrs = Object.fromEntries(llistxattrSync(p).sort().map((n) => [n, lgetxattrSync(p, n)?.toString()]));
    out[rel || '.'] = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, xattrs };
    for (const n of fs.readdirSync(p).sort()) walk(rel ? `${rel}/${n}` : n);
  };
  walk('');
  return out;
}

/** The layer applied on the lower chain, given at once and given late (both code paths of implicit parents). */
async function apply(entries: RawEntry[], whiteout: WhiteoutFormatName, lower: string): Promise<Record<string, unknown>> {
  const tar = sb.file('in', rawTar(entries));
  sb.reset();
  await applyLayer(tar, sb.target, { whiteout, lowerDirs: [lower] });
  const now = dirs(sb.target);
  sb.reset();
  await applyLayer(tar, sb.target, { whiteout, lowerDirs: async () => [lower] });
  expect(dirs(sb.target)).toEqual(now);
  return now;
}

const own = { 'SCHILY.xattr.user.own': 'mine' };
/** a directory the applier makes for a child with no entry of its own, and nothing of the lower one: 0755, owned by who applies, no xattrs (but the opaque marker, where asked) */
const fresh = (xattrs: Record<string, string> = {}) => ({ mode: 0o755, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, xattrs });
const formats: WhiteoutFormatName[] = root ? ['oci', 'overlay'] : ['oci'];

const cases: Array<{ name: string; entries: RawEntry[]; expect: (t: Record<string, unknown>, fmt: WhiteoutFormatName) => void }> = [
  {
    name: "a directory's entry after its child: the directory has the entry's xattrs only",
    entries: [{ name: 'a/x', body: 'x' }, { name: 'a/', type: '5', mode: 0o700, pax: own }],
    expect: (t) => expect(t['a']).toEqual({ ...fresh({ 'user.own': 'mine' }), mode: 0o700 }),
  },
  {
    name: 'a whiteout after a child of the name it hides: the directory made for the child is fresh',
    entries: [{ name: 'a/x', body: 'x' }, { name: '.wh.a', body: '' }],
    expect: (t, fmt) => expect(t['a']).toEqual(fresh(fmt === 'oci' ? {} : { 'trusted.overlay.opaque': 'y' })),
  },
  {
    name: 'a whiteout after a grandchild: every directory made under the hidden name is fresh',
    entries: [{ name: 'a/b/x', body: 'x' }, { name: '.wh.a', body: '' }],
    expect: (t) => expect(t['a/b']).toEqual(fresh()),
  },
  {
    name: "an opaque marker after a grandchild: the child directory is fresh, the opaque one keeps the lower's metadata",
    entries: [{ name: 'a/b/x', body: 'x' }, { name: 'a/.wh..wh..opq', body: '' }],
    expect: (t) => {
      expect(t['a/b']).toEqual(fresh());
      expect(t['a']).toMatchObject({ mode: 0o750, uid: root ? 7 : process.getuid?.(), xattrs: expect.objectContaining({ 'user.lower': 'A' }) });
    },
  },
];

const describeIf = addon ? describe : describe.skip;
describeIf.each(formats)('%s format', (fmt) => {
  test.each(cases)('$name, in either order', async (c) => {
    const lower = makeLower();
    const forward = await apply(c.entries, fmt, lower);
    const backward = await apply([...c.entries].reverse(), fmt, lower);
    c.expect(forward, fmt);
    expect(forward).toEqual(backward);
    sb.expectVictimUntouched();
  });
});

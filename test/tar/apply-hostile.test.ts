/**
 * Every class of hostile layer is refused with its error class and code, naming the entry, and
 * leaves the victim planted beside the target untouched (bytes, mode, mtime, link count) with
 * nothing written outside the target.
 */
import * as zlib from 'zlib';
import { applyLayer } from '../../lib/tar/apply-in-worker';
import { addonStatus } from '../../lib/native';
import { BadTarError, LayerfsError, LimitExceededError, UnsafePathError } from '../../lib/errors';
import type { TarLimits } from '../../lib/tar/types';
import type { WhiteoutFormatName } from '../../lib/store/types';
import { rawTar, gzip, header, metaEntry, pad, Sandbox } from '../fixtures/hostile-tar';
import { isRoot } from '../fixtures/peers';

const privileged = isRoot() && addonStatus().available;
const formats: WhiteoutFormatName[] = privileged ? ['oci', 'overlay'] : ['oci'];
if (!privileged) console.warn('apply-hostile: only the oci whiteout format runs (overlay needs root and the native addon)');

type ErrorClass = new (...a: never[]) => LayerfsError;
interface Case {
  name: string;
  tar: () => Buffer;
  error: ErrorClass;
  code: string;
  /** the entry the error must name (undefined: not checked) */
  entry?: string | null;
  limits?: Partial<TarLimits>;
}

const U = UnsafePathError;
const deep = Array(1100).fill('d').join('/');
const cases: Case[] = [
  // names
  { name: 'a ".." entry', tar: () => rawTar([{ name: '../victim', body: 'pwned' }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: '../victim' },
  { name: 'a ".." inside the name', tar: () => rawTar([{ name: 'a/./b/../../../victim', body: 'pwned' }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: 'a/./b/../../../victim' },
  { name: 'an absolute name', tar: () => rawTar([{ name: '/tmp/layerfs-pwned', body: 'x' }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: '/tmp/layerfs-pwned' },
  { name: 'an absolute PAX path', tar: () => rawTar([{ name: 'ok', body: 'x', pax: { path: '/tmp/layerfs-pwned' } }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: '/tmp/layerfs-pwned' },
  { name: 'a ".." GNU long name', tar: () => rawTar([{ name: 'ok', body: 'x', magic: 'gnu', longName: '../' + 'v'.repeat(120) }]), error: U, code: 'LAYERFS_UNSAFE_PATH' },
  { name: 'a name with NUL (PAX)', tar: () => rawTar([{ name: 'x', body: 'x', pax: { path: Buffer.from('ok\0/../../victim') } }]), error: U, code: 'LAYERFS_UNSAFE_PATH' },
  { name: 'a path deeper than 1024 components', tar: () => rawTar([{ name: 'x', pax: { path: deep }, body: 'x' }]), error: LimitExceededError, code: 'LAYERFS_LIMIT', entry: deep },
  // symlinks
  { name: 'a write through a symlink made earlier in the layer', tar: () => rawTar([{ name: 'link', type: '2', linkname: '..' }, { name: 'link/victim', body: 'pwned' }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: 'link/victim' },
  { name: 'a write through a symlink to an absolute dir', tar: () => rawTar([{ name: 'tmp', type: '2', linkname: '/tmp' }, { name: 'tmp/layerfs-pwned', body: 'x' }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: 'tmp/layerfs-pwned' },
  { name: 'a directory made through a symlink', tar: () => rawTar([{ name: 'l', type: '2', linkname: '..' }, { name: 'l/newdir/', type: '5' }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: 'l/newdir/' },
  { name: 'a symlink through a symlink', tar: () => rawTar([{ name: 'l', type: '2', linkname: '..' }, { name: 'l/victim', type: '2', linkname: '/etc/shadow' }]), error: U, code: 'LAYERFS_UNSAFE_PATH' },
  { name: 'a write under a file of the layer', tar: () => rawTar([{ name: 'f', body: 'x' }, { name: 'f/x', body: 'x' }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: 'f/x' },
  { name: 'a write under a directory replaced by a symlink', tar: () => rawTar([{ name: 'd/', type: '5' }, { name: 'd', type: '2', linkname: '..' }, { name: 'd/victim', body: 'x' }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: 'd/victim' },
  // hardlinks
  { name: 'a hardlink to outside', tar: () => rawTar([{ name: 'h', type: '1', linkname: '../victim' }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: 'h' },
  { name: 'a hardlink to an absolute path', tar: () => rawTar([{ name: 'h', type: '1', linkname: '/etc/passwd' }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: 'h' },
  { name: 'a hardlink to a directory', tar: () => rawTar([{ name: 'd/', type: '5' }, { name: 'h', type: '1', linkname: 'd' }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: 'h' },
  { name: 'a hardlink to itself', tar: () => rawTar([{ name: 'h', type: '1', linkname: './h' }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: 'h' },
  { name: 'a hardlink through a symlink', tar: () => rawTar([{ name: 'l', type: '2', linkname: '..' }, { name: 'h', type: '1', linkname: 'l/victim' }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: 'h' },
  { name: 'a hardlink to nothing of this layer', tar: () => rawTar([{ name: 'h', type: '1', linkname: 'etc/passwd' }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: 'h' },
  { name: 'a hardlink to a whiteout', tar: () => rawTar([{ name: '.wh.gone', body: '' }, { name: 'h', type: '1', linkname: 'gone' }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: 'h' },
  // whiteouts
  { name: 'a whiteout ".wh."', tar: () => rawTar([{ name: '.wh.', body: '' }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: '.wh.' },
  { name: 'a whiteout ".wh.."', tar: () => rawTar([{ name: '.wh..', body: '' }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: '.wh..' },
  { name: 'a whiteout ".wh..."', tar: () => rawTar([{ name: '.wh...', body: '' }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: '.wh...' },
  { name: 'a whiteout "a/.wh.."', tar: () => rawTar([{ name: 'a/.wh..', body: '' }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: 'a/.wh..' },
  { name: 'a whiteout through a symlinked parent', tar: () => rawTar([{ name: 'link', type: '2', linkname: '/etc' }, { name: 'link/.wh.passwd', body: '' }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: 'link/.wh.passwd' },
  { name: 'an opaque marker through a symlinked parent', tar: () => rawTar([{ name: 'link', type: '2', linkname: '..' }, { name: 'link/.wh..wh..opq', body: '' }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: 'link/.wh..wh..opq' },
  { name: 'a whiteout that is a directory', tar: () => rawTar([{ name: '.wh.d/', type: '5' }]), error: U, code: 'LAYERFS_UNSAFE_PATH' },
  { name: 'a character device 0/0 (a smuggled overlay whiteout)', tar: () => rawTar([{ name: 'sneaky', type: '3', devmajor: 0, devminor: 0 }]), error: U, code: 'LAYERFS_UNSAFE_PATH', entry: 'sneaky' },
  // headers and framing
  { name: 'a bad header checksum', tar: () => rawTar([{ name: 'a', body: 'x' }, { name: 'corrupt', body: 'x', badChecksum: true }]), error: BadTarError, code: 'LAYERFS_BAD_TAR', entry: 'corrupt' },
  { name: 'a tarball cut inside an entry', tar: () => rawTar([{ name: 'cut', body: 'x'.repeat(2000) }]).subarray(0, 1024), error: BadTarError, code: 'LAYERFS_BAD_TAR', entry: 'cut' },
  { name: 'a tarball cut inside a header', tar: () => rawTar([{ name: 'a', body: 'x' }, { name: 'second', body: 'y' }]).subarray(0, 1024 + 300), error: BadTarError, code: 'LAYERFS_BAD_TAR', entry: 'second' },
  { name: 'a negative PAX size', tar: () => rawTar([{ name: 'x', pax: { size: '-5' }, body: 'x' }]), error: BadTarError, code: 'LAYERFS_BAD_TAR', entry: 'x' },
  { name: 'a PAX header over 1 MiB', tar: () => rawTar([{ name: 'a', body: 'x', pax: { comment: 'c'.repeat((1 << 20) + 10) } }]), error: LimitExceededError, code: 'LAYERFS_LIMIT' },
  { name: 'a GNU long name over 1 MiB', tar: () => Buffer.concat([metaEntry('L', Buffer.alloc((1 << 20) + 10, 0x61)), rawTar([{ name: 'a', body: 'x' }])]), error: LimitExceededError, code: 'LAYERFS_LIMIT', entry: '././@LongLink' },
  { name: 'an entry hidden after one end-of-archive block', tar: () => Buffer.concat([rawTar([{ name: 'a', body: 'x' }], { end: false }), Buffer.alloc(512), rawTar([{ name: 'hidden', body: 'y' }])]), error: BadTarError, code: 'LAYERFS_BAD_TAR', entry: 'hidden' },
  { name: 'a gzip bomb (ratio limit)', tar: () => gzip(rawTar([{ name: 'zeros', body: Buffer.alloc(32 << 20) }])), error: LimitExceededError, code: 'LAYERFS_LIMIT', entry: 'zeros', limits: { ratioGraceBytes: 1 << 20, maxCompressionRatio: 100 } },
  { name: 'a corrupt gzip stream', tar: () => corruptGzip(), error: BadTarError, code: 'LAYERFS_BAD_TAR' },
];

function corruptGzip(): Buffer {
  const gz = zlib.gzipSync(rawTar([{ name: 'a', body: Buffer.alloc(100000, 'q') }]));
  gz.fill(0x42, 30, 80);
  return gz;
}

let sb: Sandbox;
beforeEach(() => (sb = new Sandbox('hostile', ['in.tar'])));
afterEach(() => sb.remove());

test('the header helper writes what the reader expects (so the refusals below are for the stated reason)', () => {
  expect(header({ name: 'a' }, 0).length).toBe(512);
  expect(pad(Buffer.alloc(1)).length).toBe(512);
});

describe.each(formats)('hostile layers are refused (%s whiteouts)', (whiteout) => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const input = sb.file('in.tar', c.tar());
    const err = await applyLayer(input, sb.target, { whiteout, limits: c.limits }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(c.error);
    expect(err).toMatchObject({ code: c.code });
    if (c.entry !== undefined) expect((err as { entry?: unknown }).entry).toBe(c.entry);
    sb.expectVictimUntouched();
  });
});

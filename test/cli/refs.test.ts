import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LayerStore } from '../../lib/layer-store';
import type { Container } from '../../lib/container';
import { resolveRef, RefKinds } from '../../lib/cli/refs';
import { layerfs } from './run-cli';

/**
 * The one resolver of the CLI's names (lib/cli/refs.ts): every command that takes a chain, an
 * image or a container accepts the same forms, and a prefix that fits several is an error that
 * lists them.
 */
let work: string;
let store: LayerStore;
let chains: string[];
let containers: Container[];
let imagePath: string;

/** The shortest prefix of `id` that begins nothing else of `all`. */
function uniquePrefix(id: string, all: string[]): string {
  for (let n = 1; n <= id.length; n++) if (all.filter((o) => o.startsWith(id.slice(0, n))).length === 1) return id.slice(0, n);
  return id;
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-refs-'));
  store = await LayerStore.open(path.join(work, 'store'));
  chains = [];
  let parent: string | null = null;
  for (let i = 0; i < 3; i++) {
    const dir = path.join(work, `files${i}`);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, `f${i}`), `layer ${i}`);
    const l = await store.buildLayer({ from: dir, parent });
    chains.push(l.chainId);
    parent = l.chainId;
  }
  // with 3 chains and 14 containers, 17 ids over 16 hex digits: two of them share their first digit
  containers = [];
  for (let i = 0; i < 14; i++) containers.push(await store.createContainer(i === 0 ? chains[0] : null, { driver: 'copy', name: i === 0 ? 'web' : undefined }));
  imagePath = path.join(work, 'img');
  const built = await store.buildImage({ from: 'scratch', layers: [{ from: path.join(work, 'files0') }], to: imagePath, format: 'oci' });
  expect(built.chainId).toBe(chains[0]);
  await store.importImage(imagePath, { name: 'base' });
});
afterAll(async () => {
  for (const c of containers) await c.remove();
  fs.rmSync(work, { recursive: true, force: true });
});

const ALL: RefKinds = { scratch: true, chain: true, imagePath: true, container: true };
const hexOf = (d: string) => d.replace(/^sha256:/, '');
const ids = () => [...chains.map(hexOf), ...containers.map((c) => c.id)];
const what = async (arg: string, kinds: RefKinds = ALL) => {
  const r = await resolveRef(store, arg, kinds);
  return r.kind === 'container' ? `container ${r.container.id}` : r.kind === 'scratch' ? 'scratch' : `${r.kind} ${r.chain}`;
};

describe('resolveRef: one table of forms', () => {
  test.each([
    ['scratch is the empty base', () => 'scratch', () => 'scratch'],
    ['a full ChainID', () => chains[1], () => `chain ${chains[1]}`],
    ['a ChainID without sha256:', () => hexOf(chains[2]), () => `chain ${chains[2]}`],
    ['a unique ChainID prefix', () => uniquePrefix(hexOf(chains[1]), ids()), () => `chain ${chains[1]}`],
    ['an imported image name', () => 'base', () => `image ${chains[0]}`],
    ['an image path', () => imagePath, () => `image ${chains[0]}`],
    ['a container id', () => containers[3].id, () => `container ${containers[3].id}`],
    ['a container name', () => 'web', () => `container ${containers[0].id}`],
    ['a unique container id prefix', () => uniquePrefix(containers[5].id, ids()), () => `container ${containers[5].id}`],
  ])('%s', async (_name, arg, expected) => {
    expect(await what(arg())).toBe(expected());
  });

  test('a prefix that fits several is an error naming each candidate', async () => {
    const all = ids();
    const digit = [...'0123456789abcdef'].find((d) => all.filter((i) => i.startsWith(d)).length > 1)!;
    const fits = all.filter((i) => i.startsWith(digit));
    const err = await resolveRef(store, digit, ALL).then(() => null, (e: Error & { code?: string }) => e);
    expect(err?.code).toBe('LAYERFS_INVALID_ARGUMENT');
    for (const f of fits) expect(err?.message).toContain(f.slice(0, 12));
  });

  test.each([
    ['an unknown name', 'nope', ALL, 'LAYERFS_NOT_FOUND'],
    ['a full ChainID the store lacks', 'sha256:' + 'e'.repeat(64), ALL, 'LAYERFS_NOT_FOUND'],
    ['a malformed ChainID where only chains are taken', 'zz-not-hex', { chain: true }, 'LAYERFS_INVALID_ARGUMENT'],
    ['a container name where only chains and images are taken', 'web', { chain: true, image: true }, 'LAYERFS_INVALID_ARGUMENT'],
    ['scratch where no empty base is taken', 'scratch', { chain: true, container: true }, 'LAYERFS_NOT_FOUND'],
  ])('%s is refused', async (_name, arg, kinds, code) => {
    await expect(resolveRef(store, arg, kinds)).rejects.toMatchObject({ code });
  });
});

describe('the commands take those forms', () => {
  const cli = (...args: string[]) => layerfs(['--store', store.root, ...args]);

  test('image export takes a short ChainID prefix', () => {
    const prefix = uniquePrefix(hexOf(chains[2]), ids());
    const r = cli('--json', 'image', 'export', prefix, '--from', 'base', '-o', path.join(work, 'out'));
    expect(r.stderr).toBe('');
    expect(r.json()).toMatchObject({ chainId: chains[2] });
  });

  test('image build --from scratch makes an image of the given layers only', () => {
    const r = cli('--json', 'image', 'build', '--from', 'scratch', '--layer', path.join(work, 'files1'), '-o', path.join(work, 'from-scratch'));
    expect(r.stderr).toBe('');
    const index = JSON.parse(fs.readFileSync(path.join(work, 'from-scratch', 'index.json'), 'utf8'));
    expect(index.manifests).toHaveLength(1);
    expect(r.json().layers).toHaveLength(1);
  });

  test('export takes a ChainID prefix; diff with an ambiguous one lists its candidates', () => {
    const prefix = uniquePrefix(hexOf(chains[0]), ids());
    expect(cli('export', prefix, '-o', path.join(work, 'l0.tar')).code).toBe(0);
    const all = ids();
    const digit = [...'0123456789abcdef'].find((d) => all.filter((i) => i.startsWith(d)).length > 1)!;
    const r = cli('diff', digit, path.join(work, 'files0'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ambiguous');
  });
});

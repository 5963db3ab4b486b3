import * as fs from 'fs';
import * as path from 'path';
import * as layerfs from '../../lib/index';

/**
 * The public face (lib/index.ts): every export named, nothing internal leaked with the module it
 * comes from, and the store's internals left out of the published typings (tsconfig's stripInternal
 * drops what the modules mark internal with the JSDoc tag).
 */
const ROOT = path.join(__dirname, '..', '..');

const VALUES = [
  'AbortedError', 'BadImageError', 'BadTarError', 'BusyError', 'ChangedMeanwhileError', 'Container', 'DigestMismatchError',
  'ExistsError', 'InUseError', 'InvalidArgumentError', 'LayerStore', 'LayerfsError', 'LimitExceededError', 'MANIFEST_ACCEPT',
  'NativeUnavailableError', 'NoSpaceError', 'NotFoundError', 'Registry', 'RegistryError', 'SizeMismatchError', 'UnionView',
  'UnsafePathError', 'UnsupportedError', 'UserNamespaceError', 'addonStatus', 'analyzeLayers', 'authProvider', 'chainId',
  'chainIds', 'defaultStoreDir', 'detectRootless', 'diffTrees', 'enterUserNamespace', 'familiarReference', 'findCredentials',
  'formatReference', 'login', 'logout', 'mirrorsFor', 'namespaceBlocker', 'openImage', 'parseDigest', 'parseReference',
  'planMapping', 'registryAccess', 'renderDiffReport', 'renderLayersReport', 'runtimeSpec', 'sha256', 'tlsFor', 'writeBundle',
  'writeImage',
];

/** What StoreCore and LayerStore keep for the library's own parts. */
const INTERNAL_MEMBERS = ['paths', 'config', 'saveProbe', 'makeStaging', 'discard', 'publishLayer', 'publishBlob', 'getLayerSync', 'chainSync', 'layerDirs', 'withLock', 'tarLimits', 'layerByteLimit', 'importedImage', 'resolveChain'];
const PUBLIC_MEMBERS = ['createContainer', 'importLayer', 'importImage', 'exportImage', 'getLayer', 'chain', 'getImage', 'listImages', 'getContainer', 'listContainers', 'fsck', 'gc', 'view', 'analyze', 'buildLayer', 'buildImage'];

describe('the public face', () => {
  test('lib/index.ts names every export', () => {
    const src = fs.readFileSync(path.join(ROOT, 'lib', 'index.ts'), 'utf8');
    expect(src).not.toMatch(/^export \*/m);
    expect(Object.keys(layerfs).sort()).toEqual([...VALUES].sort());
  });

  test('internals do not leak', () => {
    for (const name of ['serializeError', 'deserializeError', 'MEDIA_TYPES', 'StorePaths', 'StoreCore', 'LayerCore']) expect(Object.keys(layerfs)).not.toContain(name);
  });

  test('what the README imports from layerfs is exported', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const named = [...readme.matchAll(/import \{([^}]+)\} from 'layerfs'/g)].flatMap((m) => m[1].split(',').map((s) => s.trim()));
    expect(named.length).toBeGreaterThan(0);
    for (const n of named) expect(Object.keys(layerfs)).toContain(n);
  });

  // the typings are what tsc wrote to dist/ (npm test builds it first)
  const dts = (rel: string) => fs.readFileSync(path.join(ROOT, 'dist', 'lib', rel), 'utf8');
  const haveDist = fs.existsSync(path.join(ROOT, 'dist', 'lib', 'layer-store.d.ts'));
  const declares = (text: string, member: string) => new RegExp(`^\\s+(?:readonly |static |async )*${member}\\s*[(:<]`, 'm').test(text);

  (haveDist ? test : test.skip)('the published typings leave the store internals out and keep the rest', () => {
    const members = dts('layer-store.d.ts') + dts(path.join('layers', 'layer-core.d.ts')) + dts(path.join('store', 'store-core.d.ts'));
    expect(INTERNAL_MEMBERS.filter((m) => declares(members, m))).toEqual([]);
    expect(PUBLIC_MEMBERS.filter((m) => !declares(members, m))).toEqual([]);
    const container = dts(path.join('container', 'container.d.ts'));
    expect(['save', 'update', 'refresh'].filter((m) => declares(container, m))).toEqual([]);
    expect(['mount', 'unmount', 'diff', 'commit', 'remove', 'run', 'mounts'].filter((m) => !declares(container, m))).toEqual([]);
    const index = dts('index.d.ts');
    for (const v of VALUES) expect(index).toMatch(new RegExp(`\\b${v}\\b`));
    expect(index).not.toMatch(/MEDIA_TYPES|serializeError|deserializeError/);
  });
});

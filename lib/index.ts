/*
 * The public face: every export is named here (no `export *`), so nothing internal leaks with a
 * module it comes from. test/architecture/public-face.test.ts holds the list; what the modules
 * mark internal (the JSDoc tag) is left out of the published typings (stripInternal).
 */
import { lazy } from './lazy';

export { LayerStore } from './layer-store';
export {
  LayerfsError, UnsafePathError, DigestMismatchError, SizeMismatchError, BadTarError, LimitExceededError, NotFoundError, ExistsError,
  BusyError, InUseError, UnsupportedError, NativeUnavailableError, InvalidArgumentError, BadImageError, AbortedError, NoSpaceError,
  ChangedMeanwhileError, RegistryError, UserNamespaceError,
} from './errors';
export type { Compression, WhiteoutFormatName, DriverName, DriverChoice, ProgressEvent, OperationOptions } from './types';
export type { LayerRef, LayerRecord } from './store/types';
export { defaultStoreDir } from './store/paths';
export { enterUserNamespace } from './store/rootless';
export { detectRootless, planMapping, namespaceBlocker } from './userns';
export type { RootlessFacts, MappingPlan, StoreIdentity, IdMap } from './userns';
export { chainId, chainIds, parseDigest, sha256 } from './digest';
export { UnionView } from './view';
export type { ViewEntry, EntryType } from './view';
export { Container } from './container';
export type { CreateContainerOptions } from './container';
export type { ContainerRecord, MountSpec, CommitOptions } from './container/types';
export type { Change } from './diff/types';
export { diffTrees } from './diff';
export type { TreeInput } from './diff';
export { openImage, writeImage, analyzeLayers };
export type { ImageRecord, OpenedImage, ImageFormat, ImageConfig, EfficiencyReport, LayerEntry, AnalyzeOptions, ExportImageOptions, ImportImageOptions } from './image';
export type { BuildLayerOptions, BuildImageOptions, BuiltLayer } from './build';
export type { FsckReport, FsckProblem, GcReport } from './store/check';
export { addonStatus } from './native';
export { runtimeSpec, writeBundle } from './runtime';
export type { RuntimeSpec, RuntimeSpecOptions, BundleOptions, RunResult } from './runtime';
export type { RunOptions } from './container/run';
export { Registry, parseReference, formatReference, familiarReference, MANIFEST_ACCEPT } from './registry';
export type { Reference, AuthProvider, TlsOptions, RegistryOptions, ConnectSettings, Progress as RegistryProgress, BlobDescriptor, Manifest, ManifestHead, CallOptions as RegistryCallOptions, GetManifestOptions, GetBlobOptions, PushBlobOptions, PushBlobResult, PutManifestResult, ReferrersOptions, ReferrerDescriptor, BlobOpener } from './registry';
export { registryAccess, tlsFor, mirrorsFor } from './registry/config';
export type { AccessOptions, Endpoint, TlsConfigOptions } from './registry/config';
export { authProvider, findCredentials } from './registry/auth';
export type { Credentials, CredentialOptions } from './registry/auth';
export { login, logout } from './registry/auth/login';
export { renderLayersReport, renderDiffReport } from './report';
export type { LayersReportData, LayersReportOptions, ReportLayer, ReportLayerEntry, ReportChange, DiffReportOptions } from './report';

/*
 * The image code (tar streams, archive readers and writers) loads on the first call of one of
 * these, not with the library: a program that only mounts containers never needs it.
 */
type ImageModule = typeof import('./image');
const image = lazy<ImageModule>(() => require('./image'));

/** Opens an OCI layout, oci-archive or docker-archive (PATH or PATH:TAG) for reading. */
function openImage(...args: Parameters<ImageModule['openImage']>): ReturnType<ImageModule['openImage']> {
  return image().openImage(...args);
}

/** Writes an image (OCI layout, oci-archive or docker-archive) from layers and a config. */
function writeImage(...args: Parameters<ImageModule['writeImage']>): ReturnType<ImageModule['writeImage']> {
  return image().writeImage(...args);
}

/** Per-layer changes and wasted space of stacked layer directories, as dive scores them. */
function analyzeLayers(...args: Parameters<ImageModule['analyzeLayers']>): ReturnType<ImageModule['analyzeLayers']> {
  return image().analyzeLayers(...args);
}

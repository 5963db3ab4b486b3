import { RegistryError } from '../errors';
import { DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST } from './types';

/** Content-Types that say nothing about which manifest it is: the body's mediaType decides. */
const GENERIC = new Set(['', 'application/json', 'text/plain', 'application/octet-stream', 'binary/octet-stream']);
const SCHEMA1 = new Set(['application/vnd.docker.distribution.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v1+prettyjws']);

export function bareMediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/**
 * The media type of a manifest: the Content-Type without its parameters, which must agree with
 * the body's own `mediaType` when the body has one (OCI lets it be absent; then the shape decides
 * when the Content-Type is generic too).
 */
export function manifestMediaType(contentType: string | undefined, body: Buffer, what: string, url: string): string {
  const ct = bareMediaType(contentType);
  let parsed: { mediaType?: unknown; manifests?: unknown; config?: unknown; layers?: unknown; schemaVersion?: unknown };
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new RegistryError('MANIFEST_INVALID', `${what}: the body is not JSON (${(e as Error).message})`, url);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new RegistryError('MANIFEST_INVALID', `${what}: the body is not a JSON object`, url);
  const own = typeof parsed.mediaType === 'string' ? parsed.mediaType : undefined;
  let type: string;
  if (!GENERIC.has(ct)) {
    if (own !== undefined && own !== ct) throw new RegistryError('MANIFEST_INVALID', `${what}: Content-Type is ${ct} but the manifest says mediaType ${own}`, url);
    type = ct;
  } else if (own !== undefined) {
    type = own;
  } else if (Array.isArray(parsed.manifests)) {
    type = OCI_INDEX;
  } else if (parsed.config && Array.isArray(parsed.layers)) {
    type = OCI_MANIFEST;
  } else {
    throw new RegistryError('MANIFEST_INVALID', `${what}: neither the Content-Type (${ct || 'none'}) nor the body says what kind of manifest it is`, url);
  }
  if (SCHEMA1.has(type) || parsed.schemaVersion === 1) throw new RegistryError('UNSUPPORTED', `${what}: Docker schema 1 manifests are not supported (convert the image, e.g. push it again with a current docker or skopeo)`, url);
  return type;
}

export function isIndexType(t: string): boolean {
  return t === OCI_INDEX || t === DOCKER_LIST;
}

export function isManifestType(t: string): boolean {
  return t === OCI_MANIFEST || t === DOCKER_MANIFEST;
}

import { InvalidArgumentError } from '../errors';

/**
 * Image references, normalised as docker's reference package does:
 *   [docker://]HOST[:PORT]/REPO[:TAG][@sha256:HEX]
 * The first component is a host when it has a `.` or a `:`, is `localhost`, or has an upper-case
 * letter; otherwise the reference is on Docker Hub, whose one-word names live under `library/`.
 */

export const DOCKER_HUB = 'docker.io';
/** where Docker Hub's registry API answers */
export const DOCKER_HUB_REGISTRY = 'registry-1.docker.io';

export interface Reference {
  /** the registry as named (docker.io for Docker Hub): what credentials are looked up by */
  domain: string;
  /** the host (HOST[:PORT]) the API is spoken to */
  host: string;
  /** the repository path inside the registry, e.g. library/alpine */
  repository: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const DOMAIN = /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;

function bad(ref: string, why: string): never {
  throw new InvalidArgumentError(`image reference ${JSON.stringify(ref)} is invalid: ${why}`);
}

/** Parses a reference; one without a tag or digest gets `latest`. */
export function parseReference(input: string): Reference {
  let s = input.startsWith('docker://') ? input.slice('docker://'.length) : input;
  if (s.startsWith('//')) s = s.slice(2);
  if (!s) bad(input, 'it is empty');
  let digest: string | undefined;
  const at = s.indexOf('@');
  if (at >= 0) {
    digest = s.slice(at + 1);
    s = s.slice(0, at);
    if (!DIGEST.test(digest)) bad(input, `${JSON.stringify(digest)} is not a sha256 digest (sha256:<64 lower-case hex>)`);
  }
  let tag: string | undefined;
  const colon = s.lastIndexOf(':');
  if (colon > s.lastIndexOf('/')) {
    tag = s.slice(colon + 1);
    s = s.slice(0, colon);
    if (!TAG.test(tag)) bad(input, `${JSON.stringify(tag)} is not a valid tag (letters, digits, _ . -, at most 128, not starting with . or -)`);
  }
  let domain = DOCKER_HUB;
  let path = s;
  const slash = s.indexOf('/');
  if (slash >= 0) {
    const first = s.slice(0, slash);
    if (/[.:A-Z]/.test(first) || first === 'localhost' || first.startsWith('[')) {
      if (!DOMAIN.test(first)) bad(input, `${JSON.stringify(first)} is not a valid registry host`);
      domain = first;
      path = s.slice(slash + 1);
    }
  }
  if (domain === 'index.docker.io') domain = DOCKER_HUB;
  if (!path) bad(input, 'it names no repository');
  if (domain === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  for (const c of path.split('/')) {
    if (!COMPONENT.test(c)) bad(input, `repository component ${JSON.stringify(c)} must be lower-case letters and digits, separated by . _ __ or -`);
  }
  if (domain.length + 1 + path.length > 255) bad(input, 'the name is longer than 255 characters');
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { domain, host: domain === DOCKER_HUB ? DOCKER_HUB_REGISTRY : domain, repository: path, tag, digest };
}

/** What the manifest is fetched by: the digest when there is one, else the tag. */
export function referenceTarget(r: Reference): string {
  return r.digest ?? r.tag ?? 'latest';
}

/** The full, normalised name: DOMAIN/REPO[:TAG][@DIGEST]. */
export function formatReference(r: Reference): string {
  return `${r.domain}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** Docker's short form: no docker.io/, no library/. */
export function familiarReference(r: Reference): string {
  let name = `${r.domain}/${r.repository}`;
  if (r.domain === DOCKER_HUB) name = r.repository.startsWith('library/') && r.repository.split('/').length === 2 ? r.repository.slice(8) : r.repository;
  return `${name}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** Checks a repository path (as a client call takes it) without a host or tag. */
export function checkRepository(repo: string): string {
  if (!repo || repo.length > 255 || !repo.split('/').every((c) => COMPONENT.test(c))) {
    throw new InvalidArgumentError(`repository ${JSON.stringify(repo)} is invalid: lower-case components of letters and digits, separated by . _ __ or -, joined by /`);
  }
  return repo;
}

/** Checks a tag or a digest, as the manifests endpoint takes it. */
export function checkManifestRef(ref: string): string {
  if (!TAG.test(ref) && !DIGEST.test(ref)) throw new InvalidArgumentError(`${JSON.stringify(ref)} is neither a tag nor a sha256 digest`);
  return ref;
}

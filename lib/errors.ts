/**
 * One error class per kind of failure, each with a stable `code`. A failed operation
 * leaves the store as it was; the message says what was wrong and where.
 */
export class LayerfsError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { code: this.code, message: this.message };
    for (const [k, v] of Object.entries(this)) if (k !== 'code' && k !== 'name' && v !== undefined) out[k] = v;
    return out;
  }
}

/** An entry would land outside its target, or traverse a symlink or non-directory. */
export class UnsafePathError extends LayerfsError {
  constructor(readonly entry: string, reason: string) {
    super('LAYERFS_UNSAFE_PATH', `unsafe tar entry ${JSON.stringify(entry)}: ${reason}`);
  }
}

/** A blob, layer or file did not hash to what it claimed. */
export class DigestMismatchError extends LayerfsError {
  constructor(readonly what: string, readonly expected: string, readonly actual: string) {
    super('LAYERFS_DIGEST_MISMATCH', `${what}: expected ${expected}, got ${actual}`);
  }
}

/** A size did not match its descriptor. */
export class SizeMismatchError extends LayerfsError {
  constructor(readonly what: string, readonly expected: number, readonly actual: number) {
    super('LAYERFS_SIZE_MISMATCH', `${what}: expected ${expected} bytes, got ${actual}`);
  }
}

/** A tar stream is truncated or malformed. */
export class BadTarError extends LayerfsError {
  constructor(readonly entry: string | null, reason: string) {
    super('LAYERFS_BAD_TAR', entry === null ? `bad tar stream: ${reason}` : `bad tar entry ${JSON.stringify(entry)}: ${reason}`);
  }
}

/** Input exceeds a safety limit (decompression ratio, header size, path depth). */
export class LimitExceededError extends LayerfsError {
  constructor(readonly entry: string | null, reason: string) {
    super('LAYERFS_LIMIT', entry === null ? `limit exceeded: ${reason}` : `limit exceeded at tar entry ${JSON.stringify(entry)}: ${reason}`);
  }
}

export class NotFoundError extends LayerfsError {
  constructor(readonly what: string, message?: string) {
    super('LAYERFS_NOT_FOUND', message ?? `not found: ${what}`);
  }
}

/** Something of that name is there already, and replacing it was not asked for. */
export class ExistsError extends LayerfsError {
  constructor(readonly what: string, message?: string) {
    super('LAYERFS_EXISTS', message ?? `${what} already exists`);
  }
}

/** Another process holds what this operation needs. */
export class BusyError extends LayerfsError {
  constructor(message: string) {
    super('LAYERFS_BUSY', message);
  }
}

/** Something still uses what was asked to be removed. */
export class InUseError extends LayerfsError {
  constructor(readonly what: string, readonly users: string[]) {
    super('LAYERFS_IN_USE', `${what} is in use by ${users.join(', ')}`);
  }
}

/** The platform, kernel, privileges or build cannot do what was asked. */
export class UnsupportedError extends LayerfsError {
  constructor(message: string) {
    super('LAYERFS_UNSUPPORTED', message);
  }
}

/** The native addon was not built; the message names the operation that needs it. */
export class NativeUnavailableError extends LayerfsError {
  constructor(readonly operation: string, reason: string) {
    super('LAYERFS_NO_ADDON', `${operation} needs the layerfs native addon, which is not available (${reason}); rebuild it with \`npm rebuild layerfs\``);
  }
}

export class InvalidArgumentError extends LayerfsError {
  constructor(message: string) {
    super('LAYERFS_INVALID_ARGUMENT', message);
  }
}

/** An image (layout or archive) is malformed or inconsistent. */
export class BadImageError extends LayerfsError {
  constructor(message: string) {
    super('LAYERFS_BAD_IMAGE', message);
  }
}

export class AbortedError extends LayerfsError {
  constructor(what = 'operation') {
    super('LAYERFS_ABORTED', `${what} was aborted`);
  }
}

export class NoSpaceError extends LayerfsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LAYERFS_NO_SPACE', message, options);
  }
}

/**
 * A tree changed while an operation read or wrote it, in a way it may not follow: a directory
 * became a symlink or something else, or went away. Nothing outside the tree was touched; the
 * operation can be tried again once the tree is quiet.
 */
export class ChangedMeanwhileError extends LayerfsError {
  constructor(readonly tree: string, readonly path: string, reason: string, options?: { cause?: unknown }) {
    super('LAYERFS_CHANGED_MEANWHILE', `${tree} changed meanwhile at ${JSON.stringify(path)}: ${reason}`, options);
  }
}

/**
 * A registry refused or failed a request. The code is `LAYERFS_REGISTRY_` and the registry's own
 * `errors[].code` (MANIFEST_UNKNOWN, BLOB_UNKNOWN, NAME_UNKNOWN, DENIED, UNAUTHORIZED,
 * TOOMANYREQUESTS...) when it sent one, else one chosen from the status; `registryCode` and
 * `registryMessage` are what the registry said, `url` and `status` where and how.
 * Client-side kinds: TLS, UNREACHABLE (no connection), PROTOCOL (an answer the protocol does not
 * allow), UNAVAILABLE (5xx).
 */
export class RegistryError extends LayerfsError {
  constructor(
    readonly kind: string,
    message: string,
    readonly url?: string,
    readonly status?: number,
    readonly registryCode?: string,
    readonly registryMessage?: string,
    options?: { cause?: unknown },
  ) {
    super(`LAYERFS_REGISTRY_${kind}`, message, options);
  }
}

const registry: Record<string, new (...args: any[]) => LayerfsError> = {};
for (const c of [ExistsError, UnsafePathError, DigestMismatchError, SizeMismatchError, BadTarError, LimitExceededError, NotFoundError, BusyError, InUseError, UnsupportedError, NativeUnavailableError, InvalidArgumentError, BadImageError, AbortedError, NoSpaceError, ChangedMeanwhileError, RegistryError]) registry[c.name] = c;

/** Errors cross worker threads as plain objects; this rebuilds the class so `instanceof` and `code` work. */
export function serializeError(e: unknown): Record<string, unknown> {
  if (e instanceof Error) {
    const out: Record<string, unknown> = { name: e.name, message: e.message, stack: e.stack };
    for (const [k, v] of Object.entries(e)) out[k] = v;
    return out;
  }
  return { name: 'Error', message: String(e) };
}

export function deserializeError(o: Record<string, unknown>): Error {
  const C = registry[o.name as string];
  let e: Error;
  if (C) {
    e = Object.create(C.prototype) as Error;
    Object.defineProperty(e, 'message', { value: o.message, writable: true, configurable: true });
  } else {
    e = new Error(o.message as string);
  }
  for (const [k, v] of Object.entries(o)) if (k !== 'message') (e as any)[k] = v;
  return e;
}

/**
 * Rootless: a user namespace cannot be made or entered, or the store belongs to another
 * mapping (made by root and opened by a user, made in a user namespace and opened outside it).
 */
export class UserNamespaceError extends LayerfsError {
  constructor(message: string) {
    super('LAYERFS_USERNS', message);
  }
}

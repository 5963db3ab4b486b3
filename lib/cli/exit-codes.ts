/**
 * The exit codes of `layerfs`, and the JSON record of an error.
 *
 * - 0: success.
 * - 1: a failure: the command was well formed and could not be done (not found, in use, a bad
 *   image or layer, a digest mismatch, no space, a build pattern that matched nothing with --strict).
 * - 2: a usage error: the command line itself is wrong. Commander's own (unknown command or
 *   option, missing argument, a value outside its choices), a UsageError raised by a command, and
 *   the library's LAYERFS_INVALID_ARGUMENT, which is a value given that is malformed or conflicts
 *   (a bad digest or ChainID, a bad tag, a bad name or prefix): at the command line every value
 *   comes from the user.
 * - 141: stdout or stderr was closed by its reader (128 + SIGPIPE, as the shell reports coreutils).
 */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_PIPE = 141;

const USAGE_CODES = new Set(['LAYERFS_USAGE', 'LAYERFS_INVALID_ARGUMENT']);

/** By `code`, not class: errors from worker threads and other realms keep their code. */
export function exitCodeOf(e: unknown): number {
  const o = e as { code?: unknown; syscall?: unknown } | null;
  if (o?.code === 'EPIPE' && o.syscall === 'write') return EXIT_PIPE;
  return typeof o?.code === 'string' && USAGE_CODES.has(o.code) ? EXIT_USAGE : EXIT_FAILURE;
}

/** `{code, message, ...facts}`: a LayerfsError's fields, a system error's syscall and path; always serialisable. */
export function errorRecord(e: unknown): Record<string, unknown> {
  if (!(e instanceof Error)) return { code: 'LAYERFS_ERROR', message: String(e) };
  const o = e as Error & { code?: unknown; toJSON?: () => Record<string, unknown> } & Pick<NodeJS.ErrnoException, 'syscall' | 'path' | 'errno'>;
  const base: Record<string, unknown> = { code: typeof o.code === 'string' ? o.code : 'LAYERFS_ERROR', message: e.message };
  const fields = typeof o.toJSON === 'function' ? (o.toJSON() ?? {}) : { syscall: o.syscall, path: o.path, errno: o.errno };
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || k in base) continue;
    try {
      JSON.stringify(v);
      base[k] = v;
    } catch {
      // a field that cannot be written (a cycle, a bigint) is left out rather than lose the error
    }
  }
  return base;
}

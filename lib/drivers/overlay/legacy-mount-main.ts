import { mountSync } from '../../native';
import { serializeError } from '../../errors';

/**
 * Run as a child process by mount.ts with its working directory in a directory of short
 * symlinks, so the relative lower names in the options resolve there: the parent never chdirs.
 * Argument: JSON `{ source, target, flags, data }`. A failure goes to stderr as a serialised error.
 */
try {
  const { source, target, flags, data } = JSON.parse(process.argv[2] ?? '') as { source: string; target: string; flags: number; data: string };
  mountSync(source, target, 'overlay', flags, data);
} catch (e) {
  process.stderr.write(JSON.stringify(serializeError(e)));
  process.exitCode = 1;
}

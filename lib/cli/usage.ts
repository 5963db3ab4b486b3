import { LayerfsError } from '../errors';

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends LayerfsError {
  constructor(message: string) {
    super('LAYERFS_USAGE', message);
  }
}

/**
 * `-o -` of a command that writes an image (a layout directory or an archive file, made beside
 * its target and renamed): standard output is not such a place, and a file named "-" in the
 * working directory is not what "-" asks for.
 */
export function imageOutput(command: string, output: string): string {
  if (output === '-') throw new UsageError(`${command} -o -: an image is written to a layout directory or an archive file, not to standard output; give a path (./- for a file named "-")`);
  return output;
}

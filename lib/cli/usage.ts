import { LayerfsError } from '../errors';

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends LayerfsError {
  constructor(message: string) {
    super('LAYERFS_USAGE', message);
  }
}

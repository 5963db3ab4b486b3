import { InvalidArgumentError } from '../errors';
import type { WhiteoutFormatName } from '../types';
import { ociFormat } from './oci';
import { overlayFormat } from './overlay';
import type { WhiteoutFormat } from './types';

const formats: Record<WhiteoutFormatName, WhiteoutFormat> = {
  oci: ociFormat,
  overlay: overlayFormat('overlay'),
  'overlay-userxattr': overlayFormat('overlay-userxattr'),
};

export function whiteoutFormat(name: WhiteoutFormatName): WhiteoutFormat {
  const f = Object.prototype.hasOwnProperty.call(formats, name) ? formats[name] : undefined;
  if (!f) throw new InvalidArgumentError(`unknown whiteout format ${JSON.stringify(name)} (expected oci, overlay or overlay-userxattr)`);
  return f;
}

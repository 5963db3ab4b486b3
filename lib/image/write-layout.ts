import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import { hexOf } from '../digest';
import { BadImageError, InvalidArgumentError, UnsupportedError } from '../errors';
import { MAX_METADATA, parseJson } from './blobs';
import { OCI_INDEX, OCI_LAYOUT_FILE, OCI_LAYOUT_VERSION, REF_NAME } from './media-types';
import { createNewFileStream, writeBeside } from '../store/partial-files';
import { openVerified, OutBlob, uniqueBlobs } from './blob-copy';
import type { Descriptor, ImageIndex } from './types';

/**
 * Writes `data` (or the blob's verified stream) to a staging file, then renames it to `file`.
 * Files are staged at the layout's top, not beside the blobs: a stray name under blobs/sha256
 * (left by a crash) would break `umoci gc`, while other files at the top are ignored by all.
 * They are named for a `layerfs` file of the layout (lib/store/partial-files.ts): a signal
 * removes them, and the next write to the layout reaps those of a process that was killed.
 */
async function writeAtomic(layout: string, file: string, data: Buffer | OutBlob): Promise<void> {
  await writeBeside(
    file,
    async (tmp) => {
      if (Buffer.isBuffer(data)) fs.writeFileSync(tmp, data, { flag: 'wx' });
      else if (data.bytes) fs.writeFileSync(tmp, data.bytes, { flag: 'wx' });
      else await pipeline(openVerified(data), createNewFileStream(tmp));
    },
    { beside: path.join(layout, 'layerfs') },
  );
}

/** An existing directory must already be a layout (or empty): writing blobs into any directory would litter it. */
export function checkLayoutTarget(dir: string): void {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (st && !st.isDirectory()) throw new InvalidArgumentError(`${dir} exists and is not a directory: an OCI layout is written as one`);
  const layoutFile = path.join(dir, OCI_LAYOUT_FILE);
  if (st && fs.existsSync(layoutFile)) {
    const v = (parseJson(fs.readFileSync(layoutFile), `${dir}: ${OCI_LAYOUT_FILE}`) as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
    if (typeof v !== 'string' || !/^1\./.test(v)) throw new UnsupportedError(`${dir}: image layout version ${JSON.stringify(v)} (this writes 1.x)`);
  } else if (st && fs.readdirSync(dir).length) {
    throw new InvalidArgumentError(`${dir} is a directory that is neither empty nor an OCI image layout`);
  }
}

function prepare(dir: string): void {
  checkLayoutTarget(dir);
  fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
}

function readIndex(file: string): ImageIndex {
  if (!fs.existsSync(file)) return { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
  if (fs.statSync(file).size > MAX_METADATA) throw new BadImageError(`${file} is over the ${MAX_METADATA}-byte limit for metadata`);
  const index = parseJson(fs.readFileSync(file), file) as ImageIndex | null;
  if (typeof index !== 'object' || index === null || !Array.isArray(index.manifests)) throw new BadImageError(`${file} has no manifests list`);
  return index;
}

/**
 * Adds an image to an OCI layout (made if absent): blobs it lacks, each verified and renamed
 * into place, then index.json, last, so it never names a blob that is not there. The tag
 * replaces an image of the same tag; an untagged image is added once.
 */
export async function writeLayout(dir: string, blobs: OutBlob[], manifest: Descriptor, tag: string | undefined): Promise<void> {
  prepare(dir);
  const layoutFile = path.join(dir, OCI_LAYOUT_FILE);
  if (!fs.existsSync(layoutFile)) await writeAtomic(dir, layoutFile, Buffer.from(JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION })));
  for (const b of uniqueBlobs(blobs)) {
    const file = path.join(dir, 'blobs', 'sha256', hexOf(b.digest));
    const have = fs.statSync(file, { throwIfNoEntry: false });
    if (have?.isFile() && have.size === b.size) continue; // content-addressed: already there
    await writeAtomic(dir, file, b);
  }
  const indexFile = path.join(dir, 'index.json');
  const index = readIndex(indexFile);
  index.manifests = index.manifests.filter((d) => (tag !== undefined ? d.annotations?.[REF_NAME] !== tag : d.digest !== manifest.digest || d.annotations?.[REF_NAME] !== undefined));
  index.manifests.push(manifest);
  await writeAtomic(dir, indexFile, Buffer.from(JSON.stringify(index)));
}

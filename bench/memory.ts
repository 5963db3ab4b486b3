/**
 * 7. Peak memory (RSS) of layerfs: the import of the whole image, of the big-file layer, and the commit of a
 * container holding the big file, each in a process of its own (VmHWM counts the worker
 * threads too), against a bare Node process and umoci.
 */
import * as path from 'path';
import { peakRss, summarise } from './lib/measure';
import type { Row, Subject } from './lib/report';
import { childLine, Ctx, fresh, GroupResult, mib, removeTree, runChild, skippedSubject, target, why } from './common';

const MB150 = 150e6;

function rssSubject(name: string, bytes: number[], command: string, extra?: string): Subject {
  return { name, unit: 'MiB', sample: summarise(bytes.map((b) => b / 2 ** 20)), command, extra };
}

export async function memoryGroup(ctx: Ctx): Promise<GroupResult> {
  const { data } = ctx;
  const runs = Math.max(1, Math.min(3, ctx.heavyRuns));
  const storeDir = path.join(ctx.work, 'rss-store');
  const idle = runChild(['idle']).peakRssBytes;
  const baseline = rssSubject('a bare node process running nothing', [idle], childLine(['idle']));

  const imports = (blob: string) => {
    const out: number[] = [];
    for (let i = 0; i < runs; i++) {
      fresh(storeDir);
      out.push(runChild(['import-layer', storeDir, blob]).peakRssBytes);
    }
    removeTree(storeDir);
    return out;
  };
  // the whole image: two layers in flight, each in a worker of its own
  const wholeImage: number[] = [];
  for (let i = 0; i < runs; i++) {
    fresh(storeDir);
    wholeImage.push(runChild(['import-image', storeDir, data.ociArchive]).peakRssBytes);
  }
  removeTree(storeDir);
  const bigBlob = data.layerBlobs[data.bigLayer];
  const bigImport = imports(bigBlob);
  const baseImport = imports(data.layerBlobs[0]);

  let umoci: Subject;
  const dest = path.join(ctx.work, 'rss-unpack');
  try {
    umoci = ctx.peers.missing('umoci') ? skippedSubject('umoci raw unpack of the image', ctx.peers.missing('umoci')!) : rssSubject('umoci raw unpack of the image', [peakRss(`rm -rf ${dest} && umoci raw unpack --image ${data.layout}:${data.tag} ${dest}`)], `/usr/bin/time -f %M umoci raw unpack --image ${data.layout}:${data.tag} DEST`);
  } catch (e) {
    umoci = skippedSubject('umoci raw unpack of the image', `could not run here: ${why(e)}`);
  } finally {
    removeTree(dest);
  }

  // a container on the image gets a copy of the big file, then is committed (gzip)
  const { store, chain } = await ctx.sharedStore();
  const bigFile = path.join(store.paths.layerDiff(store.chainSync(chain)[data.bigLayer].chainId), 'big.bin');
  const commitArgs = ['commit', store.root, chain, bigFile, 'gzip'];
  const commit: number[] = [];
  for (let i = 0; i < runs; i++) commit.push(runChild(commitArgs).peakRssBytes);

  const rows: Row[] = [
    { label: `import of the whole image (${data.layerBlobs.length} layers, two in flight)`, layerfs: rssSubject('layerfs importImage', wholeImage, childLine(['import-image', 'STORE', data.ociArchive])), peers: [baseline, umoci] },
    { label: `import of the ${mib(data.bigFileBytes)}-file layer (gzip)`, layerfs: rssSubject('layerfs importLayer', bigImport, childLine(['import-layer', 'STORE', bigBlob])), peers: [baseline, umoci] },
    { label: 'import of the base root layer (small files)', layerfs: rssSubject('layerfs importLayer', baseImport, childLine(['import-layer', 'STORE', data.layerBlobs[0]])), peers: [baseline] },
    { label: `commit (gzip) of a container holding a ${mib(data.bigFileBytes)} file`, layerfs: rssSubject('layerfs container.commit', commit, childLine(commitArgs)), peers: [baseline] },
  ];
  const worst = Math.max(...bigImport, ...commit);
  return {
    section: {
      title: 'Peak memory (RSS) of layerfs',
      note: 'Peak RSS (VmHWM, worker threads included) of a process that opens the store and does the one operation; the ratio column is peer / layerfs (a bare node process is the floor, so its ratio is below 1).',
      rows,
    },
    targets: [
      target('peak RSS flat: importing the big-file layer and committing stay under 150 MB', worst < MB150, `import ${(Math.max(...bigImport) / 1e6).toFixed(0)} MB, commit ${(Math.max(...commit) / 1e6).toFixed(0)} MB (bare node: ${(idle / 1e6).toFixed(0)} MB)`),
      target('peak RSS of the whole-image import under 150 MB (two layers in flight)', Math.max(...wholeImage) < MB150, `${(Math.max(...wholeImage) / 1e6).toFixed(0)} MB (bare node: ${(idle / 1e6).toFixed(0)} MB); rerun: ${childLine(['import-image', 'STORE', data.ociArchive])}`),
    ],
  };
}

// A store user for the crash and concurrency tests: runs one scripted job against the store
// given in argv and prints one JSON line per finished step. Uses the built library (dist/).
'use strict';
const fs = require('fs');
const path = require('path');
const { LayerStore } = require('../../dist/lib/index.js');

const [storeDir, job, tarball, driver, tag] = process.argv.slice(2);

async function main() {
  const store = await LayerStore.open(storeDir);
  if (job === 'import') {
    const r = await store.importLayer(tarball);
    console.log(JSON.stringify({ step: 'import', chainId: r.chainId }));
    return;
  }
  // container life: create on the layer, write, commit, remove
  const base = await store.importLayer(tarball);
  const c = await store.createContainer(base.chainId, { driver });
  const root = await c.mount();
  for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(root, `f-${tag}-${i}`), `data ${i}\n`.repeat(50));
  fs.rmSync(path.join(root, 'dir0'), { recursive: true, force: true });
  const layer = await c.commit({ compression: 'gzip' });
  console.log(JSON.stringify({ step: 'commit', chainId: layer.chainId }));
  await c.remove();
  console.log(JSON.stringify({ step: 'remove' }));
}

main().catch((e) => {
  console.log(JSON.stringify({ error: e.code || 'ERROR', message: e.message }));
  process.exit(1);
});

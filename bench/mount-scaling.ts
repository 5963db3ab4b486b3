/** 3. Mount and unmount time against the number of layers, against the mount(8) program. */
import * as fs from 'fs';
import * as path from 'path';
import { LayerStore } from '../lib/layer-store';
import { measure, Sample } from './lib/measure';
import type { Row, Subject } from './lib/report';
import { Ctx, fresh, GroupResult, librarySubject, ms, perIteration, removeTree, sh, shellSubject, skippedSubject, target } from './common';

const COUNTS = [1, 5, 10, 50, 128, 500];

export async function mountScalingGroup(ctx: Ctx): Promise<GroupResult> {
  const title = 'Mount and unmount against the number of layers';
  if (ctx.peers.noOverlay) return { section: { title, note: `not measured: ${ctx.peers.noOverlay}`, rows: [] }, targets: [target('mount+umount of 5 lowers under 5 ms', null, ctx.peers.noOverlay)] };
  const dir = path.join(ctx.work, 'scaling');
  const store = await LayerStore.open(path.join(dir, 'store'));
  const src = path.join(dir, 'src');
  const tar = path.join(dir, 'tiny.tar');
  const iters = ctx.quick ? 20 : 100;
  const rows: Row[] = [];
  const lib: [number, number][] = [];
  const prog: [number, number][] = [];
  let five = NaN;
  let parent: string | null = null;
  let count = 0;
  try {
    for (const n of COUNTS) {
      // one tiny layer per step, each with a file of its own
      while (count < n) {
        fresh(src);
        fs.writeFileSync(path.join(src, `f${count}`), `layer ${count}\n`);
        sh(`tar -cf ${tar} -C ${src} .`);
        parent = (await store.importLayer(tar, { parent })).chainId;
        count++;
      }
      const c = await store.createContainer(parent, { driver: 'overlay' });
      let s: Sample;
      try {
        // the first mount of a store probes what the kernel accepts: not part of the timing
        await c.mount();
        await c.unmount();
        s = perIteration(
          await measure(ctx.runs, async () => {
            for (let i = 0; i < iters; i++) {
              await c.mount();
              await c.unmount();
            }
          }),
          iters,
        );
      } finally {
        await c.remove();
      }
      const layerfs = librarySubject('layerfs library: mount() + unmount()', s, `${iters} x container.mount(); container.unmount() on ${n} layers`, 'scaling');
      // the mount(8) program with the same layer directories, top first
      const lowers = store.layerDirs(parent).reverse().join(':');
      const m = fresh(path.join(dir, 'mnt'));
      const upper = fresh(path.join(dir, 'upper'));
      const work = fresh(path.join(dir, 'work'));
      const one = `mount -t overlay overlay -o lowerdir=${lowers},upperdir=${upper},workdir=${work} ${m} && umount ${m}`;
      let peer: Subject = await shellSubject(ctx, { name: 'mount(8) + umount(8) programs', tool: 'mount', cmd: `for i in $(seq ${iters}); do ${one}; done`, runs: ctx.runs });
      if (peer.sample) peer = { ...peer, sample: perIteration(peer.sample, iters) };
      else if (lowers.length > 4000) peer = skippedSubject(peer.name, `the options (${lowers.length} bytes of lowerdir) pass the page that mount(2) takes`, peer.command);
      rows.push({ label: `${n} layer${n > 1 ? 's' : ''}`, layerfs, peers: [peer] });
      lib.push([n, s.median * 1000]);
      if (peer.sample) prog.push([n, peer.sample.median * 1000]);
      if (n === 5) five = s.median;
    }
  } finally {
    removeTree(dir);
  }
  return {
    section: { title, note: `Time per mount + unmount pair (mean of ${iters} pairs per run; median of ${ctx.runs} runs), on chains of tiny layers. layerfs mounts with fsmount and one lowerdir+ per layer where the kernel has it; mount(8) passes one option string to mount(2), which holds one page.`, rows },
    targets: [target('mount+umount of 5 lowers under 5 ms', five < 0.005, ms(five))],
    series: [
      { name: 'layerfs mount+umount', points: lib },
      { name: 'mount(8)+umount(8)', points: prog },
    ],
  };
}

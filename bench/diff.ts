/**
 * 4. Diff after a scripted container change: layerfs's overlay and copy drivers (library and
 * CLI) against podman diff and a naive full double walk; then a 1-file change on the root and
 * on a root ten times larger, where the cost must follow the change and not the root.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { diffTrees } from '../lib/diff';
import { measure } from './lib/measure';
import type { Row, Subject, Target } from './lib/report';
import { Ctx, GroupResult, librarySubject, med, ms, ratioText, sh, shellSubject, skippedSubject, target, why } from './common';
import { describeChange, newFiles, scriptedChange } from './scripted-change';
import type { PeerStorage } from './peer-storage';

/** podman diff of a podman container on the image after the same change. */
async function podmanDiff(ctx: Ctx, s: PeerStorage, n: number): Promise<Subject> {
  const name = `podman diff (${s.driver})`;
  const missing = ctx.peers.missing('podman');
  if (missing) return skippedSubject(name, missing);
  let id: string | undefined;
  try {
    id = sh(`${s.podman} create ${s.image()} /bin/true`).trim().split('\n').pop()!;
    const root = sh(`${s.podman} mount ${id}`).trim();
    scriptedChange(root, n);
    return await shellSubject(ctx, { name, tool: 'podman', cmd: `${s.podman} diff ${id} >/dev/null`, runs: ctx.runs });
  } catch (e) {
    return skippedSubject(name, `could not run here: ${why(e)}`);
  } finally {
    if (id) spawnSync('bash', ['-c', `${s.podman} rm --force ${id}`], { stdio: 'ignore' });
  }
}

export async function diffGroup(ctx: Ctx): Promise<GroupResult> {
  const { store, chain } = await ctx.sharedStore();
  const n = newFiles(ctx.quick);
  const rows: Row[] = [];
  const targets: Target[] = [];
  const drivers = ctx.peers.noOverlay ? (['copy'] as const) : (['overlay', 'copy'] as const);
  for (const driver of drivers) {
    const c = await store.createContainer(chain, { driver });
    try {
      const root = await c.mount();
      scriptedChange(root, n);
      const count = (await c.diff()).length;
      const s = await measure(ctx.runs, () => c.diff());
      const lib = librarySubject(`layerfs library (${count} changes)`, s, 'container.diff()', 'diff');
      const cli = await shellSubject(ctx, { name: 'layerfs CLI: diff', cmd: `node ${ctx.cli} --store ${store.root} diff ${c.id} >/dev/null`, runs: ctx.runs });
      const podman = await podmanDiff(ctx, ctx.peerStorage(driver === 'overlay' ? 'overlay' : 'vfs'), n);
      const naive = librarySubject('naive full double walk (diffTrees of the chain view and the merged tree)', await measure(ctx.heavyRuns, () => diffTrees(store.view(chain), root)), 'diffTrees(store.view(chain), mergedRoot)', 'diff');
      rows.push({ label: `scripted change, ${driver} driver`, layerfs: lib, peers: [podman, naive] });
      rows.push({ label: `scripted change, ${driver} driver, CLI`, layerfs: cli, peers: [podman] });
      if (driver === 'overlay') {
        targets.push(target('diff of the scripted change (overlay): library call under 50 ms', s.median < 0.05, ms(s.median)));
        targets.push(target('diff of the scripted change (overlay): CLI no slower than 1.5x podman diff', med(podman) && med(cli) ? med(cli)! <= 1.5 * med(podman)! : null, med(podman) ? `${ms(med(cli) ?? NaN)} vs podman ${ms(med(podman)!)} (${ratioText(med(podman), med(cli))})` : podman.skipped ?? ''));
      }
    } finally {
      await c.remove();
    }
  }

  // a 1-file change on the root and on a root ten times larger
  if (!ctx.peers.noOverlay) {
    const big = await ctx.tenfoldChain();
    const times: number[] = [];
    for (const [label, ch] of [['the image root', chain], [`a root ${big.factor}x larger (${big.entries} entries)`, big.chain]] as const) {
      const c = await store.createContainer(ch, { driver: 'overlay' });
      try {
        const root = await c.mount();
        fs.appendFileSync(path.join(root, 'etc/os-release'), 'one change\n');
        const s = await measure(ctx.runs * 4, () => c.diff());
        rows.push({ label: `1-file change on ${label}, overlay`, layerfs: librarySubject('layerfs library', s, 'container.diff()', 'diff'), peers: [] });
        times.push(s.median);
      } finally {
        await c.remove();
      }
    }
    targets.push(target(`diff of a 1-file change costs the same on the root and on the ${big.factor}x root`, times[1] <= times[0] * 1.5 + 0.001, `${ms(times[0])} vs ${ms(times[1])}`));
  }
  return {
    section: { title: 'Diff after a scripted container change', note: `The scripted change: ${describeChange(n)}. The naive double walk is layerfs's own tree-against-tree diff of the whole merged root against the chain: what a diff costs that does not know the upperdir.`, rows },
    targets,
  };
}

/**
 * 8. Run a process in a container of the image: `layerfs run --rm bench true` (create, mount,
 * bundle, runc, unmount, remove) against `podman run --rm` of the same image with the same
 * runtime (runc) and storage driver kind (overlay), and no network (layerfs gives an empty
 * network namespace, podman --network none), each from a storage that holds the image.
 */
import { measure } from './lib/measure';
import type { Row, Target } from './lib/report';
import { Ctx, GroupResult, librarySubject, med, ms, ratioText, shellSubject, skippedSubject, target } from './common';

export async function runtimeGroup(ctx: Ctx): Promise<GroupResult> {
  const rows: Row[] = [];
  const targets: Target[] = [];
  const noRunc = ctx.peers.missing('runc');
  const s = ctx.peerStorage('overlay');
  const podman = await (async () => {
    const missing = ctx.peers.missing('podman');
    if (missing) return skippedSubject('podman run --rm (runc, overlay)', missing);
    let image: string;
    try {
      image = s.image();
    } catch (e) {
      return skippedSubject('podman run --rm (runc, overlay)', `could not run here: ${(e as Error).message.split('\n')[0]}`);
    }
    return shellSubject(ctx, { name: 'podman run --rm (runc, overlay, --network none)', tool: 'podman', cmd: `${s.podman} --runtime runc run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 ${image} true`, runs: ctx.runs });
  })();
  if (noRunc || ctx.peers.noOverlay) {
    const why = noRunc ?? ctx.peers.noOverlay!;
    rows.push({ label: 'run --rm IMAGE true', layerfs: skippedSubject('layerfs CLI', why), peers: [podman] });
    targets.push(target('run --rm IMAGE true at least as fast as podman run --rm', null, why));
  } else {
    const { store } = await ctx.sharedStore();
    const cli = `node ${ctx.cli} --store ${store.root}`;
    const cliSubject = await shellSubject(ctx, { name: 'layerfs CLI: run --rm bench true', cmd: `${cli} run --rm --driver overlay bench true`, runs: ctx.runs });
    rows.push({ label: 'run --rm IMAGE true (create, mount, run, unmount, remove)', layerfs: cliSubject, peers: [podman] });
    const pm = med(podman);
    const ours = med(cliSubject);
    targets.push(target('run --rm IMAGE true at least as fast as podman run --rm (runc, overlay)', pm && ours ? ours <= pm : null, pm ? `${ms(ours ?? NaN)} vs podman ${ms(pm)} (${ratioText(pm, ours)})` : podman.skipped ?? cliSubject.skipped ?? ''));
    // the library call on a container that exists: mount, bundle, runc run, unmount
    const c = await store.createContainer('bench', { driver: 'overlay' });
    try {
      const sample = await measure(ctx.runs, async () => {
        await c.run(['true'], { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' });
      });
      rows.push({ label: 'container.run(["true"]) on an existing container', layerfs: librarySubject('layerfs library', sample, "container.run(['true'])", 'runtime'), peers: [] });
    } finally {
      await c.remove();
    }
  }
  return {
    section: {
      title: 'Run a process in a container of the image',
      note: 'Both run `true` with runc on an overlay mount and remove the container afterwards; neither sets up a network (layerfs: a new, empty network namespace; podman: --network none), and podman is given 1024 open files and 4096 processes (runc spec\'s file limit; its own defaults are above what this machine lets a container set). podman uses the bench\'s own containers-storage and cgroupfs.',
      rows,
    },
    targets,
  };
}

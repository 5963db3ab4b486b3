import type { Command } from 'commander';
import type { CliContext } from '../context';
import { formatBytes } from '../progress';
import { table } from '../table';
import { UsageError } from '../usage';
import { resolveChainRef } from '../refs';
import { formatChanges } from './diff';
import { short } from './ls';
import { lazy } from '../../lazy';

const diffModule = lazy<typeof import('../../diff')>(() => require('../../diff'));
const htmlReportModule = lazy<typeof import('../html-report')>(() => require('../html-report'));

export function register(program: Command, ctx: CliContext): void {
  program
    .command('layers')
    .description('one row per layer of an image or chain: DiffID, sizes, files added/changed/deleted; wasted space and efficiency as dive scores them')
    .argument('<image>', 'an imported image name, an image path (imported first) or a ChainID')
    .option('--layer <n>', "list that layer's changes (0 is the bottom layer)")
    .option('--html <file>', 'also write a self-contained HTML report: the layers, each layer\'s tree (and the merged tree), the wasted space')
    .option('--ci', 'exit 1 when the image is below the thresholds (for CI pipelines)')
    .option('--lowest-efficiency <ratio>', 'with --ci: the lowest efficiency accepted (0..1)', '0.9')
    .option('--highest-wasted-bytes <bytes>', 'with --ci: the most wasted bytes accepted', String(Infinity))
    .action(async (ref: string, opts: { layer?: string; html?: string; ci?: boolean; lowestEfficiency: string; highestWastedBytes: string }) => {
      for (const [flag, v] of [['--lowest-efficiency', opts.lowestEfficiency], ['--highest-wasted-bytes', opts.highestWastedBytes]]) if (Number.isNaN(Number(v)) || v.trim() === '') throw new UsageError(`${flag} takes a number, not ${JSON.stringify(v)}`);
      const store = await ctx.store();
      const chain = await resolveChainRef(store, ref, { chain: true, imagePath: true });
      if (chain === null) throw new UsageError('scratch has no layers to show');
      const layers = store.chainSync(chain);
      if (opts.layer !== undefined) {
        const n = Number(opts.layer);
        if (!Number.isInteger(n) || n < 0 || n >= layers.length) throw new UsageError(`--layer must be 0..${layers.length - 1}`);
        const l = layers[n];
        const { overlayChanges } = diffModule();
        const changes = overlayChanges(store.paths.layerDiff(l.chainId), store.view(l.parent), store.whiteout).map(({ source: _s, ...c }) => c);
        ctx.print({ layer: n, diffId: l.diffId, changes }, () => formatChanges(changes as never, true));
        return;
      }
      const rep = await store.analyze(chain, { entries: opts.html !== undefined });
      const rows = layers.map((l, i) => ({ ...rep.layers[i], diffId: l.diffId, digest: l.digest, size: l.size, uncompressedSize: l.uncompressedSize }));
      if (opts.html !== undefined) await htmlReportModule().writeLayersHtml(store, opts.html, ref, chain, rows, rep);
      const minEff = Number(opts.lowestEfficiency);
      const maxWaste = Number(opts.highestWastedBytes);
      const pass = rep.efficiency >= minEff && rep.wastedBytes <= maxWaste;
      ctx.print(
        { layers: rows, efficiency: rep.efficiency, wastedBytes: rep.wastedBytes, userSizeBytes: rep.userSizeBytes, wastedUserPercent: rep.wastedUserPercent, inefficiencies: rep.inefficiencies.slice(0, 50), ...(opts.ci ? { ci: { pass, lowestEfficiency: minEff, highestWastedBytes: maxWaste } } : {}) },
        () =>
          [
            table(['#', 'DIFFID', 'COMPRESSED', 'SIZE', 'ADDED', 'CHANGED', 'DELETED'], rows.map((r) => [String(r.index), short(r.diffId), formatBytes(r.size), formatBytes(r.uncompressedSize), String(r.added), String(r.changed), String(r.deleted)])),
            '',
            `efficiency:   ${(rep.efficiency * 100).toFixed(2)} %`,
            `wasted space: ${formatBytes(rep.wastedBytes)} (${(rep.wastedUserPercent * 100).toFixed(2)} % of the layers above the base)`,
            ...(rep.inefficiencies.length ? ['', table(['COUNT', 'TOTAL', 'PATH'], rep.inefficiencies.slice(0, 20).map((x) => [String(x.count), formatBytes(x.cumulativeSize), x.path]))] : []),
            ...(opts.ci ? ['', pass ? 'CI: pass' : `CI: FAIL (efficiency ${rep.efficiency.toFixed(4)} < ${minEff} or wasted ${rep.wastedBytes} > ${maxWaste})`] : []),
          ].join('\n'),
      );
      if (opts.ci && !pass) process.exitCode = 1;
    });
}

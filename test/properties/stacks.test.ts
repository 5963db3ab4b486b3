import fc from 'fast-check';
import { makeTempDir, removeTempDir } from '../fixtures/tmp';
import { stackArb } from './layer-gen';
import { features, propertyParams } from './run-config';
import { isRoot, overlaySkipNote } from './stores';
import { checkStack } from './stack-check';

/**
 * Random layer stacks: 1–6 layers written as tars by the test's own writer, imported into a
 * fresh store of each whiteout format. For every prefix of the chain the UnionView, a copy
 * container, a real overlay mount (overlay-format store, as root) and the reference merge of
 * the OCI rules all show the same tree, metadata, contents and hardlinks included.
 */

overlaySkipNote('property tests');
if (!isRoot) console.warn('property tests: owners are not compared with the reference (they need root to be applied)');

let work: string;
beforeAll(() => (work = makeTempDir('properties')));
afterAll(() => removeTempDir(work));

it('random layer stacks: the UnionView, a copy container, an overlay mount and the reference merge agree for every prefix of the chain', async () => {
  await fc.assert(
    fc.asyncProperty(stackArb({ recreate: features.recreate, childBeforeDir: features.childBeforeDir, duplicates: features.duplicates, root: features.root, nonUtf8: features.nonUtf8 }), (layers) => checkStack(work, layers)),
    propertyParams('random layer stacks', 60),
  );
}, 1_800_000);

import type { LayerStore } from '../layer-store';
import type { ResolvedTree } from './tree-ref';

/** Image arguments for `diff` (filled in by the image commands). */
export const imageTreeResolvers: Array<(s: LayerStore, r: string) => Promise<ResolvedTree | null>> = [];

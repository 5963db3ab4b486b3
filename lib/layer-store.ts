import { StoreCore } from './store/store-core';

/**
 * The store as users see it: the layer store of lib/store plus what the upper parts add
 * (containers, images, builds). It lives above them so that dependencies keep pointing one way.
 */
export class LayerStore extends StoreCore {}

export { renderLayersReport } from './layers-report';
export { renderDiffReport } from './diff-report';
export { lineDiff } from './line-diff';
export { pathText, shownText } from './names';
export type * from './types';

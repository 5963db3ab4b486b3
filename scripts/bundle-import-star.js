'use strict';
/*
 * The __importStar of the bundled CLI (scripts/bundle-cli.js puts it in place of each module's
 * own): what tsc's helper makes, made once per module and kept. Not used outside the bundle.
 */
const made = new WeakMap();

exports.importStar = function importStar(mod) {
  if (mod && mod.__esModule) return mod;
  if (mod === null || (typeof mod !== 'object' && typeof mod !== 'function')) return { default: mod };
  let result = made.get(mod);
  if (result) return result;
  result = {};
  for (const k of Object.getOwnPropertyNames(mod)) {
    if (k === 'default') continue;
    const desc = Object.getOwnPropertyDescriptor(mod, k);
    Object.defineProperty(result, k, !desc || ('get' in desc ? !mod.__esModule : desc.writable || desc.configurable) ? { enumerable: true, get: () => mod[k] } : desc);
  }
  Object.defineProperty(result, 'default', { enumerable: true, value: mod });
  made.set(mod, result);
  return result;
};

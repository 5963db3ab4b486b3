import type { Change } from '../../lib/diff/types';
import type { DriverName } from '../../lib/drivers';
import { canMount } from './helpers';
import { hasUmoci } from '../fixtures/umoci';
import { driverSuite } from './suite';

/*
 * The conformance suite for both drivers, and what they must agree on. Each driver runs the
 * suite by one call; a new driver adds one more.
 */
if (!canMount) console.warn('driver conformance: the overlay driver is skipped: mounting needs root and the native addon');
if (!hasUmoci) console.warn('driver conformance: the umoci chain is skipped: umoci is not installed');

const changesSeen: Partial<Record<DriverName, Change[]>> = {};
driverSuite('overlay', { enabled: canMount, onChanges: (c) => (changesSeen.overlay = c) });
driverSuite('copy', { enabled: true, onChanges: (c) => (changesSeen.copy = c) });

describe('both drivers', () => {
  (canMount ? it : it.skip)('report the same changes for the same edits', () => {
    const strip = (cs: Change[] = []) => cs.map((c) => `${c.kind} ${c.path}`);
    expect(changesSeen.overlay).toBeDefined();
    expect(strip(changesSeen.overlay)).toEqual(strip(changesSeen.copy));
  });
});

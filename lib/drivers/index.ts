import type { StoreCore } from '../store/store-core';
import { InvalidArgumentError } from '../errors';
import { DRIVER_CHOICES } from './types';
import type { Driver, DriverChoice, DriverName } from './types';
import { overlayBlocker, probeOverlay } from './overlay/probe';
import { lazy } from '../lazy';

const driverModule = lazy<typeof import('./overlay/driver')>(() => require('./overlay/driver'));
const copyDriverModule = lazy<typeof import('./copy/driver')>(() => require('./copy/driver'));

export type { Driver, ContainerRef, DriverRecord, DriverName, DriverChoice, MountSpec } from './types';
export type { OverlayDriver } from './overlay/driver';
export type { CopyDriver } from './copy/driver';
export { probeOverlay, overlayBlocker } from './overlay/probe';
export type { OverlayProbe } from './overlay/probe';
export { containerLayout } from './layout';
export type { ContainerLayout } from './layout';

/**
 * Each driver's module is loaded when a container of that driver is first used: a process that
 * mounts an overlay never loads the copy driver's materialiser, and the other way round.
 */
const load: Record<DriverName, () => Driver> = {
  overlay: () => new (driverModule()).OverlayDriver(),
  copy: () => new (copyDriverModule()).CopyDriver(),
};
const drivers: Partial<Record<DriverName, Driver>> = {};

export { DRIVER_CHOICES };

export function driverFor(name: DriverName): Driver {
  if (!Object.prototype.hasOwnProperty.call(load, name)) throw new InvalidArgumentError(`unknown driver ${JSON.stringify(name)}: use overlay or copy`);
  return (drivers[name] ??= load[name]());
}

/** `auto` is overlay when this process can mount one for this store (probed once), else copy. */
export async function chooseDriver(store: StoreCore, choice: DriverChoice = 'auto'): Promise<DriverName> {
  if (!DRIVER_CHOICES.includes(choice)) throw new InvalidArgumentError(`unknown driver ${JSON.stringify(choice)}: use ${DRIVER_CHOICES.join(', ')}`);
  if (choice !== 'auto') return choice;
  if (overlayBlocker(store)) return 'copy';
  return (await probeOverlay(store)).mountable ? 'overlay' : 'copy';
}

import type { StoreCore } from '../store/store-core';
import type { DriverChoice, DriverName } from '../container/types';
import { InvalidArgumentError } from '../errors';
import type { Driver } from './types';
import { OverlayDriver } from './overlay';
import { CopyDriver } from './copy';
import { overlayBlocker, probeOverlay } from './probe';

export type { Driver, ContainerRef } from './types';
export { OverlayDriver } from './overlay';
export { CopyDriver } from './copy';
export { probeOverlay, overlayBlocker } from './probe';
export type { OverlayProbe } from './probe';
export { containerLayout } from './layout';
export type { ContainerLayout } from './layout';

const drivers: Record<DriverName, Driver> = { overlay: new OverlayDriver(), copy: new CopyDriver() };

export const DRIVER_CHOICES: readonly DriverChoice[] = ['overlay', 'copy', 'auto'];

export function driverFor(name: DriverName): Driver {
  const d = drivers[name];
  if (!d) throw new InvalidArgumentError(`unknown driver ${JSON.stringify(name)}: use overlay or copy`);
  return d;
}

/** `auto` is overlay when this process can mount one for this store (probed once), else copy. */
export async function chooseDriver(store: StoreCore, choice: DriverChoice = 'auto'): Promise<DriverName> {
  if (!DRIVER_CHOICES.includes(choice)) throw new InvalidArgumentError(`unknown driver ${JSON.stringify(choice)}: use ${DRIVER_CHOICES.join(', ')}`);
  if (choice !== 'auto') return choice;
  if (overlayBlocker(store)) return 'copy';
  return (await probeOverlay(store)).mountable ? 'overlay' : 'copy';
}

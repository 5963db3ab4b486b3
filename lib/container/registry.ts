import * as fs from 'fs';
import { randomHex } from '../digest/random';
import type { LayerCore } from '../layers';
import { readJsonSync, writeJsonAtomicSync } from '../store/records';
import { readMountInfo, type MountInfo } from '../native/mountinfo';
import { parseDigest } from '../digest';
import { InvalidArgumentError, NotFoundError } from '../errors';
import { chooseDriver, containerLayout, driverFor } from '../drivers';
import type { OperationOptions } from '../types';
import { Container } from './container';
import type { ContainerRecord, DriverChoice } from './types';
import { byAge, claimName, readAllRecords, recordsNamed } from './names';
import { reconcileMountState } from './reconcile';

export interface CreateContainerOptions extends OperationOptions {
  /** default `auto`: overlay when this process can mount one, else copy */
  driver?: DriverChoice;
  name?: string;
  /** a read-only view of the chain: no upper, nothing can be written */
  readOnly?: boolean;
  /** the image it is made from: `run` starts its process from this config */
  image?: ContainerRecord['image'];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const ID = /^[0-9a-f]{64}$/;

/**
 * Creates a container on `chainId` (null: on no layers). It is built in tmp/ (a copy driver
 * materialises the chain there) and renamed into containers/ when complete, so a crash leaves
 * only staging that the next open reaps.
 */
export async function createContainer(store: LayerCore, chainId: string | null, opts: CreateContainerOptions = {}): Promise<Container> {
  const chain = chainId === null ? null : parseDigest(chainId, 'ChainID');
  if (chain) store.getLayerSync(chain);
  if (opts.name !== undefined) {
    if (!NAME.test(opts.name) || ID.test(opts.name)) {
      throw new InvalidArgumentError(`bad container name ${JSON.stringify(opts.name)}: use letters, digits, '_', '.' and '-' (at most 128, not 64 hex digits)`);
    }
    if (recordsNamed(store, opts.name).length) throw new InvalidArgumentError(`a container named ${JSON.stringify(opts.name)} exists already`);
  }
  const driver = await chooseDriver(store, opts.driver ?? 'auto');
  const record: ContainerRecord = {
    id: randomHex(32),
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    chain,
    driver,
    state: 'created',
    created: new Date().toISOString(),
    ...(opts.readOnly ? { readOnly: true } : {}),
    ...(opts.image ? { image: opts.image } : {}),
  };
  const staging = store.makeStaging('container');
  try {
    await driverFor(driver).prepare({ store, record }, staging, opts);
    writeJsonAtomicSync(containerLayout(store.paths, record.id, staging).record, record);
    fs.renameSync(staging, store.paths.container(record.id));
  } catch (e) {
    await store.discard(staging);
    throw e;
  }
  const c = new Container(store, record);
  // two processes may have taken the same name at once: the first to claim it keeps it
  if (opts.name !== undefined) {
    if (!claimName(store, opts.name, record.id)) {
      await c.remove();
      throw new InvalidArgumentError(`a container named ${JSON.stringify(opts.name)} exists already`);
    }
  }
  return c;
}

/**
 * The container of a record, its recorded mount state first brought in line with the kernel's
 * (the store is reconciled container by container, as each is read, not all at every open).
 */
function loaded(store: LayerCore, r: ContainerRecord, mounts?: () => MountInfo[]): Container {
  const c = new Container(store, r);
  reconcileMountState(c, mounts);
  return c;
}

/** A container by full id, name, or unique id prefix. */
export function getContainerSync(store: LayerCore, idOrName: string): Container {
  const wanted = idOrName.replace(/^sha256:/, '');
  if (ID.test(wanted)) {
    const r = readJsonSync<ContainerRecord>(store.paths.containerRecord(wanted));
    if (r) return loaded(store, r);
  }
  if (NAME.test(idOrName)) {
    const [named] = recordsNamed(store, idOrName);
    if (named) return loaded(store, named);
  }
  if (/^[0-9a-f]+$/.test(wanted)) {
    // only the records whose directory name has the prefix are read
    const matches = containerIds(store)
      .filter((id) => id.startsWith(wanted))
      .map((id) => readJsonSync<ContainerRecord>(store.paths.containerRecord(id)))
      .filter((r): r is ContainerRecord => r !== null);
    if (matches.length === 1) return loaded(store, matches[0]);
    if (matches.length > 1) throw new InvalidArgumentError(`container id prefix ${wanted} is ambiguous: ${matches.map((r) => r.id.slice(0, 12)).join(', ')}`);
  }
  throw new NotFoundError(idOrName, `no container ${JSON.stringify(idOrName)} in the store (by id, name or id prefix)`);
}

/** Every container of the store, oldest first. */
export function listContainersSync(store: LayerCore): Container[] {
  let mounts: MountInfo[] | undefined;
  const once = () => (mounts ??= readMountInfo());
  return readAllRecords(store)
    .sort(byAge)
    .map((r) => loaded(store, r, once));
}

function containerIds(store: LayerCore): string[] {
  try {
    return fs.readdirSync(store.paths.containersDir).filter((n) => ID.test(n));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

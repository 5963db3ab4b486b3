import * as fs from 'fs';
import { randomBytes } from 'crypto';
import type { LayerCore } from '../layers';
import { readJsonSync, writeJsonAtomicSync } from '../store/records';
import { parseDigest } from '../digest';
import { InvalidArgumentError, NotFoundError } from '../errors';
import { chooseDriver, containerLayout, driverFor } from '../drivers';
import type { OperationOptions } from '../store/types';
import { Container } from './container';
import type { ContainerRecord, DriverChoice } from './types';

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
    if (findByName(store, opts.name)) throw new InvalidArgumentError(`a container named ${JSON.stringify(opts.name)} exists already`);
  }
  const driver = await chooseDriver(store, opts.driver ?? 'auto');
  const record: ContainerRecord = {
    id: randomBytes(32).toString('hex'),
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
  // two processes may have taken the same name at once: the older container keeps it
  if (opts.name !== undefined) {
    const first = readRecords(store)
      .filter((r) => r.name === opts.name)
      .sort(byAge)[0];
    if (first.id !== record.id) {
      await c.remove();
      throw new InvalidArgumentError(`a container named ${JSON.stringify(opts.name)} exists already`);
    }
  }
  return c;
}

/** A container by full id, name, or unique id prefix. */
export function getContainerSync(store: LayerCore, idOrName: string): Container {
  const wanted = idOrName.replace(/^sha256:/, '');
  if (ID.test(wanted)) {
    const r = readJsonSync<ContainerRecord>(store.paths.containerRecord(wanted));
    if (r) return new Container(store, r);
  }
  const named = findByName(store, idOrName);
  if (named) return new Container(store, named);
  if (/^[0-9a-f]+$/.test(wanted)) {
    const matches = readRecords(store).filter((r) => r.id.startsWith(wanted));
    if (matches.length === 1) return new Container(store, matches[0]);
    if (matches.length > 1) throw new InvalidArgumentError(`container id prefix ${wanted} is ambiguous: ${matches.map((r) => r.id.slice(0, 12)).join(', ')}`);
  }
  throw new NotFoundError(idOrName, `no container ${JSON.stringify(idOrName)} in the store (by id, name or id prefix)`);
}

/** Every container of the store, oldest first. */
export function listContainersSync(store: LayerCore): Container[] {
  return readRecords(store)
    .sort(byAge)
    .map((r) => new Container(store, r));
}

function readRecords(store: LayerCore): ContainerRecord[] {
  const out: ContainerRecord[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(store.paths.containersDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw e;
  }
  for (const id of names) {
    if (!ID.test(id)) continue;
    const r = readJsonSync<ContainerRecord>(store.paths.containerRecord(id));
    if (r) out.push(r);
  }
  return out;
}

function findByName(store: LayerCore, name: string): ContainerRecord | undefined {
  return readRecords(store)
    .filter((r) => r.name === name)
    .sort(byAge)[0];
}

function byAge(a: ContainerRecord, b: ContainerRecord): number {
  return a.created.localeCompare(b.created) || a.id.localeCompare(b.id);
}

import * as fs from 'fs';
import * as path from 'path';
import type { StoreCore } from '../store/store-core';
import { readJsonSync } from '../store/records';
import { PRIVATE_DIR_MODE } from '../store/private';
import * as native from '../native';
import type { ContainerRecord } from './types';
import { withDirLockSync } from './lock';

/*
 * The container names, indexed so that a name is found (or found free) without reading every
 * container's record: container-names/<name>/<id>, one empty file per container that claims the
 * name. A claim is written after its container is in containers/ and removed after the container
 * is gone, so a claim whose container is missing is dead for good (ids are never reused) and is
 * ignored. Claims are made under a lock (see claimName).
 *
 * A store made before the index has no container-names/: the first process that needs it builds
 * it from every record once, in tmp/, and renames it into place (whoever renames first wins).
 */

const ID = /^[0-9a-f]{64}$/;

const indexDir = (store: StoreCore) => store.paths.containerNamesDir;
const nameDir = (store: StoreCore, name: string) => store.paths.containerNameClaims(name);

/** Every record in containers/ (the slow way: a read per container). */
export function readAllRecords(store: StoreCore): ContainerRecord[] {
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

function writeClaim(dir: string, id: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  try {
    fs.writeFileSync(path.join(dir, id), '', { flag: 'wx', mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

/** Builds the index of an older store; false when this process cannot (a store it may only read). */
function ensureIndex(store: StoreCore): boolean {
  if (fs.existsSync(indexDir(store))) return true;
  let staging: string;
  try {
    staging = store.makeStaging('names');
  } catch {
    return false;
  }
  try {
    const built = path.join(staging, 'index');
    fs.mkdirSync(built, { mode: PRIVATE_DIR_MODE });
    for (const r of readAllRecords(store)) if (r.name !== undefined) writeClaim(path.join(built, r.name), r.id);
    try {
      fs.renameSync(built, indexDir(store));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    }
    return true;
  } finally {
    // small (empty once renamed): gone before this returns
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

export function byAge(a: ContainerRecord, b: ContainerRecord): number {
  // code-unit order, not localeCompare: ISO times and hex ids sort the same, and the first
  // localeCompare of a process loads ICU's collator (milliseconds of a short command's start)
  return cmp(a.created, b.created) || cmp(a.id, b.id);
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The records of the containers named `name`, oldest (the one that has the name) first. */
export function recordsNamed(store: StoreCore, name: string): ContainerRecord[] {
  if (!ensureIndex(store)) return readAllRecords(store).filter((r) => r.name === name).sort(byAge);
  const dir = nameDir(store, name);
  let claims: string[];
  try {
    claims = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: ContainerRecord[] = [];
  for (const id of claims) {
    if (!ID.test(id)) continue;
    const r = readJsonSync<ContainerRecord>(store.paths.containerRecord(id));
    if (r?.name === name) out.push(r);
    else if (!r) {
      try {
        fs.rmSync(path.join(dir, id), { force: true }); // a dead claim (see above)
      } catch {
        // a user who may only read the store leaves it
      }
    }
  }
  return out.sort(byAge);
}

/**
 * Claims `name` for container `id` (already in containers/), unless a live container has it:
 * false then. Under the name directory's lock, so of containers given one name at once exactly
 * one gets it. (Without the addon there is no flock, and the oldest container keeps the name.)
 */
export function claimName(store: StoreCore, name: string, id: string): boolean {
  if (!ensureIndex(store)) return readAllRecords(store).filter((r) => r.name === name).sort(byAge)[0]?.id === id;
  const dir = nameDir(store, name);
  if (!native.available()) {
    writeClaim(dir, id);
    return recordsNamed(store, name)[0]?.id === id;
  }
  for (;;) {
    fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    // undefined: the directory went with its last claim (releaseName) while this waited: again
    const got = withDirLockSync<boolean | undefined>(
      dir,
      () => {
        if (recordsNamed(store, name).some((r) => r.id !== id)) return false;
        writeClaim(dir, id);
        return true;
      },
      () => undefined,
    );
    if (got !== undefined) return got;
  }
}

/**
 * Forgets a removed container's claim on its name; the name's directory goes with its last claim
 * (a `run --rm --name` leaves nothing). Under the directory's lock, so a claim made meanwhile
 * either lands first (the directory is then not empty) or sees the directory gone and makes it again.
 */
export function releaseName(store: StoreCore, name: string, id: string): void {
  const dir = nameDir(store, name);
  fs.rmSync(path.join(dir, id), { force: true });
  const prune = () => {
    try {
      fs.rmdirSync(dir);
    } catch {
      // claims left (ENOTEMPTY), or gone already
    }
  };
  if (!native.available()) return;
  withDirLockSync(dir, prune, () => undefined);
}

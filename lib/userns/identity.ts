import { describeMap, IdMap, isIdentity, readIdMaps, sameMap, toOutside } from './idmap';

/** Who made a store, recorded in store.json: the host user, and the id maps it was made in. */
export interface StoreIdentity {
  uid: number;
  gid: number;
  uids: IdMap;
  gids: IdMap;
}

/** This process's identity: its ids as the host sees them, and its namespace's maps (the identity outside any). */
export function currentIdentity(): StoreIdentity {
  const { uids, gids } = readIdMaps();
  return { uid: toOutside(uids, process.geteuid!()) ?? -1, gid: toOutside(gids, process.getegid!()) ?? -1, uids, gids };
}

export function inUserNamespace(): boolean {
  return !isIdentity(readIdMaps().uids);
}

function who(i: StoreIdentity): string {
  if (isIdentity(i.uids)) return i.uid === 0 ? 'root' : `uid ${i.uid} without a user namespace`;
  return `uid ${i.uid} in a user namespace (uids ${describeMap(i.uids)}; gids ${describeMap(i.gids)})`;
}

/**
 * Why a store made by `made` cannot be opened by `now`, or null. Owners on disk are ids of the
 * namespace that wrote them: read through another mapping, every owner would be wrong.
 */
export function identityMismatch(made: StoreIdentity, now: StoreIdentity): string | null {
  if (made.uid === now.uid && sameMap(made.uids, now.uids) && sameMap(made.gids, now.gids)) return null;
  const hint =
    made.uid !== now.uid
      ? made.uid === 0
        ? 'open it as root'
        : `open it as uid ${made.uid}`
      : !isIdentity(made.uids) && isIdentity(now.uids)
        ? 'use the layerfs command, `layerfs unshare`, or call enterUserNamespace() first in a program'
        : 'the subordinate ids of the user (/etc/subuid, /etc/subgid) or the tools that map them changed; restore them, or use a new store';
  return `the store was made by ${who(made)} and is opened by ${who(now)}: ${hint}`;
}

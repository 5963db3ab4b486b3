import * as fs from 'fs';
import * as path from 'path';
import * as native from '../../lib/native';
import { writeStatSnapshotByWalkSync } from '../../lib/diff/stat-snapshot';
import { itIf } from '../fixtures/peers';
import { useTempDir } from '../fixtures/tmp';

const tmp = useTempDir('stat-snapshot');

/** `dir`/`name` as bytes, for names that are not UTF-8. */
const at = (dir: string | Buffer, name: Buffer) => Buffer.concat([Buffer.from(dir), Buffer.from('/'), name]);

describe('writeStatSnapshotSync (the addon)', () => {
  itIf(['addon'])('writes the bytes the JS writer writes: odd names, every kind, links, sorted by bytes', () => {
    const root = path.join(tmp(), 'root');
    fs.mkdirSync(root);
    const names = [
      Buffer.from('plain'),
      Buffer.from('tab\there'),
      Buffer.from('new\nline'),
      Buffer.from('back\\slash'),
      Buffer.from('é-accent'),
      Buffer.from('emoji-😀'),
      Buffer.from([0x66, 0xff, 0x80, 0x67]), // not UTF-8
      Buffer.from([0xed, 0xa0, 0x80]), // an encoded surrogate: not UTF-8 either
      Buffer.from([0xc0, 0xaf]), // overlong
      Buffer.from('Z-upper'),
      Buffer.from('a'),
      Buffer.from('a-b'),
    ];
    for (const n of names) fs.writeFileSync(at(root, n), n);
    fs.mkdirSync(path.join(root, 'a.d'));
    fs.mkdirSync(path.join(root, 'a.d', 'deeper'));
    fs.writeFileSync(path.join(root, 'a.d', 'deeper', 'f'), 'f');
    fs.mkdirSync(at(root, Buffer.from([0x64, 0xfe])));
    fs.writeFileSync(at(at(root, Buffer.from([0x64, 0xfe])), Buffer.from('in')), '');
    fs.symlinkSync(Buffer.from([0x74, 0x09, 0xff, 0x5c]), at(root, Buffer.from('odd-link')));
    fs.symlinkSync('a.d', path.join(root, 'dir-link'));
    fs.linkSync(path.join(root, 'plain'), path.join(root, 'plain-link'));
    native.mknodSync(path.join(root, 'fifo'), fs.constants.S_IFIFO | 0o600);
    fs.truncateSync(path.join(root, 'a'), 5 << 20);
    native.lutimensSync(path.join(root, 'a'), -1_500_000_000n, 1_700_000_000_123_456_789n);

    const js = path.join(tmp(), 'js');
    const nat = path.join(tmp(), 'native');
    writeStatSnapshotByWalkSync(root, js);
    native.writeStatSnapshotSync(root, nat);
    const a = fs.readFileSync(nat);
    expect(a.toString('latin1')).toBe(fs.readFileSync(js).toString('latin1'));
    // the header, the root, the names, 9 more entries, and the empty string after the last newline
    expect(a.toString().split('\n').length).toBe(1 + 1 + names.length + 9 + 1);
    expect(fs.statSync(nat).mode & 0o777).toBe(0o600);
    // the symlinked directory is an entry, not walked into
    expect(a.toString()).not.toMatch(/^\/dir-link\//m);
  });

  itIf(['addon'])('names what it could not read', () => {
    const missing = path.join(tmp(), 'missing');
    expect(() => native.writeStatSnapshotSync(missing, path.join(tmp(), 'out'))).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'open', path: missing }));
  });
});

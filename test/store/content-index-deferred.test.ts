import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import { DeferredContentIndex, writeContentIndexSync } from '../../lib/store/content-index';
import * as native from '../../lib/native';

let work: string;
beforeEach(() => (work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-deferred-index-'))));
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

/** A tree of files, directories, a symlink, an empty file and (with the addon) an xattr. */
function tree(): string {
  const dir = path.join(work, 'tree');
  fs.mkdirSync(path.join(dir, 'a/b'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'a/one'), 'one\n');
  fs.writeFileSync(path.join(dir, 'a/b/two'), 'two\n');
  fs.writeFileSync(path.join(dir, 'empty'), '');
  fs.writeFileSync(path.join(dir, 'z'), 'last\n');
  fs.symlinkSync('../elsewhere', path.join(dir, 'a/link'));
  if (native.available()) native.lsetxattrSync(path.join(dir, 'a/one'), 'user.note', 'x', 0);
  return dir;
}

describe('DeferredContentIndex (a flip commit reads the index while the pack hashes the files)', () => {
  it('writes the very index writeContentIndexSync writes, taking the digests it is given and hashing the files they lack', () => {
    const dir = tree();
    const whole = path.join(work, 'whole.json');
    writeContentIndexSync(dir, whole);
    const index = new DeferredContentIndex(dir).walk();
    // the root changes between the walk and the write (a flip gives it the chain's attributes): its line is read last
    fs.chmodSync(dir, 0o700);
    writeContentIndexSync(dir, whole);
    // one digest known (by inode), as the pack gives them; the others are hashed
    const ino = Number(fs.lstatSync(path.join(dir, 'a/one')).ino);
    const known = new Map([[ino, createHash('sha256').update('one\n').digest('hex')]]);
    const deferred = path.join(work, 'deferred.json');
    index.write(deferred, known);
    expect(fs.readFileSync(deferred, 'utf8')).toBe(fs.readFileSync(whole, 'utf8'));
  });

  it('takes a known digest as given (the pack hashed the bytes it packed)', () => {
    const dir = tree();
    const ino = Number(fs.lstatSync(path.join(dir, 'z')).ino);
    const file = path.join(work, 'index.json');
    new DeferredContentIndex(dir).walk().write(file, new Map([[ino, 'f'.repeat(64)]]));
    const line = fs.readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('["/z"'));
    expect(JSON.parse(line!)[4]).toBe('f'.repeat(64));
  });
});

import * as fs from 'fs';
import * as path from 'path';
import { rewriteRootLineSync, writeContentIndexSync } from '../../lib/store/content-index';
import { tempDir } from '../drivers/helpers';

let work: string;
beforeEach(() => (work = tempDir('root-line')));
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

function tree(): string {
  const dir = path.join(work, 'tree');
  fs.mkdirSync(path.join(dir, 'a'), { recursive: true });
  for (let i = 0; i < 2000; i++) fs.writeFileSync(path.join(dir, 'a', `f${i}`), `${i}\n`);
  return dir;
}

describe('rewriteRootLineSync (a layer root that takes the chain\'s metadata after its index was written)', () => {
  it('gives the index the root as it is now, and keeps every other line byte for byte', () => {
    const dir = tree();
    const file = path.join(work, 'manifest.json');
    writeContentIndexSync(dir, file);
    const before = fs.readFileSync(file, 'utf8');
    fs.chmodSync(dir, 0o711);
    fs.utimesSync(dir, 1000, 1000);
    rewriteRootLineSync(dir, file);
    const fresh = path.join(work, 'fresh.json');
    writeContentIndexSync(dir, fresh);
    expect(fs.readFileSync(file, 'utf8')).toBe(fs.readFileSync(fresh, 'utf8'));
    expect(fs.readFileSync(file, 'utf8').split('\n').slice(1)).toEqual(before.split('\n').slice(1));
    expect(fs.readdirSync(work).sort()).toEqual(['fresh.json', 'manifest.json', 'tree']);
  });

  it('finds the end of a first line longer than one read (64 KiB)', () => {
    const dir = tree();
    const file = path.join(work, 'manifest.json');
    writeContentIndexSync(dir, file);
    const rest = fs.readFileSync(file, 'utf8').split('\n').slice(1).join('\n');
    fs.writeFileSync(file, `${'x'.repeat(150_000)}\n${rest}`);
    rewriteRootLineSync(dir, file);
    const fresh = path.join(work, 'fresh.json');
    writeContentIndexSync(dir, fresh);
    expect(fs.readFileSync(file, 'utf8')).toBe(fs.readFileSync(fresh, 'utf8'));
  });
});

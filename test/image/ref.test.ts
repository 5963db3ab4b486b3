import * as fs from 'fs';
import * as path from 'path';
import { parseImageRef } from '../../lib/image';
import { normalizeImageName } from '../../lib/image/ref';
import { useTempDir } from '../fixtures/tmp';

describe('parseImageRef', () => {
  const tmp = useTempDir('image-ref');

  test('a path alone, and PATH:TAG when the part before the last colon exists', () => {
    const layout = path.join(tmp(), 'layout');
    fs.mkdirSync(layout);
    expect(parseImageRef(layout)).toEqual({ path: layout });
    expect(parseImageRef(`${layout}:v1`)).toEqual({ path: layout, tag: 'v1' });
    expect(parseImageRef(`${layout}:`)).toEqual({ path: layout });
  });

  test('a path may hold colons: the split is at the rightmost colon whose left side exists', () => {
    const odd = path.join(tmp(), 'a:b');
    fs.mkdirSync(odd);
    expect(parseImageRef(odd)).toEqual({ path: odd });
    expect(parseImageRef(`${odd}:t`)).toEqual({ path: odd, tag: 't' });
    // docker-archive names an image as name:tag after the file
    const file = path.join(tmp(), 'd.tar');
    fs.writeFileSync(file, '');
    expect(parseImageRef(`${file}:name:tag`)).toEqual({ path: file, tag: 'name:tag' });
    expect(parseImageRef(`${file}:localhost:5000/name:tag`)).toEqual({ path: file, tag: 'localhost:5000/name:tag' });
  });

  test('transport prefixes as skopeo writes them', () => {
    const layout = path.join(tmp(), 'layout2');
    fs.mkdirSync(layout);
    const file = path.join(tmp(), 'x.tar');
    fs.writeFileSync(file, '');
    expect(parseImageRef(`oci:${layout}:t`)).toEqual({ path: layout, tag: 't', format: 'oci' });
    expect(parseImageRef(`oci-archive:${file}`)).toEqual({ path: file, format: 'oci-archive' });
    expect(parseImageRef(`docker-archive:${file}:n:t`)).toEqual({ path: file, tag: 'n:t', format: 'docker-archive' });
    // a file really named like a prefix is that file
    const cwd = process.cwd();
    try {
      process.chdir(tmp());
      fs.writeFileSync('oci:weird', '');
      expect(parseImageRef('oci:weird')).toEqual({ path: 'oci:weird' });
    } finally {
      process.chdir(cwd);
    }
  });

  test('nothing there: the whole reference is the path (opening it says it is missing)', () => {
    const gone = path.join(tmp(), 'gone:tag');
    expect(parseImageRef(gone)).toEqual({ path: gone });
    expect(() => parseImageRef('oci:')).toThrow(/names no path/);
  });

  test("Docker's short image names normalize as docker does", () => {
    expect(normalizeImageName('busybox')).toBe('docker.io/library/busybox:latest');
    expect(normalizeImageName('busybox:1.36')).toBe('docker.io/library/busybox:1.36');
    expect(normalizeImageName('docker.io/busybox:1')).toBe('docker.io/library/busybox:1');
    expect(normalizeImageName('me/app')).toBe('docker.io/me/app:latest');
    expect(normalizeImageName('localhost:5000/app')).toBe('localhost:5000/app:latest');
    expect(normalizeImageName('quay.io/x/y:z')).toBe('quay.io/x/y:z');
  });
});

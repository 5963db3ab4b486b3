import * as path from 'path';
import { describeIf } from '../fixtures/peers';
import { useTempDir } from '../fixtures/tmp';
import { HandLayout, platformImage } from '../image/image-forms';
import { layerfs } from './run-cli';

/** `layerfs image import --platform`, read as containerd reads platforms (issue 19, "Platform selection"). */
describeIf(['tar'])('layerfs image import --platform', () => {
  const tmp = useTempDir('cli-image-platform');

  test('the variant is kept, a bare architecture is understood, a bad platform is a usage error', () => {
    const l = new HandLayout(path.join(tmp(), 'multi'));
    const images = [
      platformImage(l, { os: 'linux', architecture: 'arm', variant: 'v6' }),
      platformImage(l, { os: 'linux', architecture: 'arm', variant: 'v7' }),
      platformImage(l, { os: 'linux', architecture: 'arm64', variant: 'v8' }),
      platformImage(l, { os: 'linux', architecture: 'riscv64' }),
    ];
    l.setIndex(images);
    const store = path.join(tmp(), 'store');
    const run = (...a: string[]) => layerfs(['--store', store, '--json', ...a]);
    const platformOf = (name: string) => {
      const r = run('image', 'import', l.dir, '--name', name, ...(name === 'host' ? [] : ['--platform', name.replace(/_/g, '/')]));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      return r.json().manifestDigest;
    };
    expect(platformOf('linux_arm_v7')).toBe(images[1].digest);
    expect(platformOf('linux_arm_v6')).toBe(images[0].digest);
    expect(platformOf('arm64')).toBe(images[2].digest);
    expect(platformOf('aarch64')).toBe(images[2].digest);
    expect(platformOf('linux_arm64_v8')).toBe(images[2].digest);
    expect(platformOf('armhf')).toBe(images[1].digest);
    const bad = run('image', 'import', l.dir, '--platform', 'linux/arm/v7/x');
    expect(bad.code).toBe(2);
    expect(bad.json().error.message).toContain('linux/arm/v7/x');
    const none = run('image', 'import', l.dir, '--platform', 'linux/s390x');
    expect(none.code).toBe(1);
    expect(none.json().error).toMatchObject({ code: 'LAYERFS_NOT_FOUND' });
    expect(none.json().error.message).toMatch(/linux\/s390x.*linux\/arm\/v6.*linux\/riscv64/);
  });
});

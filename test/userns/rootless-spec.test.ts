import { runtimeSpec } from '../../lib/runtime/spec';

/** The config a runtime gets in a user namespace, as `runc spec --rootless` shapes it (but the user namespace, which the caller is in). */
test('a rootless runtime config: no network namespace, /sys bound read-only, no uid=/gid= options, no cgroup mount or resources', () => {
  const root = runtimeSpec({ config: { Cmd: ['id'] } } as never, '/nonexistent', { rootless: false });
  const spec = runtimeSpec({ config: { Cmd: ['id'] } } as never, '/nonexistent', { rootless: true });
  expect(root.linux!.namespaces!.map((n) => n.type)).toContain('network');
  expect(spec.linux!.namespaces!.map((n) => n.type)).toEqual(['pid', 'ipc', 'uts', 'mount']);
  expect(spec.linux!.resources).toBeUndefined();
  expect(spec.mounts!.find((m) => m.destination === '/sys')).toEqual({ destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
  expect(spec.mounts!.filter((m) => m.type === 'cgroup')).toEqual([]);
  expect(spec.mounts!.find((m) => m.destination === '/dev/pts')!.options).toEqual(['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620']);
  // everything else as root has it
  expect(spec.process).toEqual(root.process);
  expect(spec.mounts!.filter((m) => !['/sys', '/dev/pts', '/sys/fs/cgroup'].includes(m.destination))).toEqual(root.mounts!.filter((m) => !['/sys', '/dev/pts', '/sys/fs/cgroup'].includes(m.destination)));
});

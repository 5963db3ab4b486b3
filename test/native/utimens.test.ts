import * as fs from 'fs';
import * as path from 'path';
import * as native from '../../lib/native';
import { itIf } from '../fixtures/peers';
import { useTempDir } from '../fixtures/tmp';

const tmp = useTempDir('utimens');

describe('lutimensSync', () => {
  itIf(['addon'])('sets times to the nanosecond, on a symlink itself, and names the path in its error', () => {
    const f = path.join(tmp(), 'f');
    const l = path.join(tmp(), 'l');
    fs.writeFileSync(f, 'x');
    fs.symlinkSync('f', l);
    const before = fs.statSync(f, { bigint: true }).mtimeNs;
    native.lutimensSync(l, 1_700_000_000_123_456_789n, 1_600_000_000_987_654_321n);
    const st = fs.lstatSync(l, { bigint: true });
    expect([st.atimeNs, st.mtimeNs]).toEqual([1_700_000_000_123_456_789n, 1_600_000_000_987_654_321n]);
    expect(fs.statSync(f, { bigint: true }).mtimeNs).toBe(before);
    native.lutimensSync(f, 0n, 1n);
    expect(fs.statSync(f, { bigint: true }).mtimeNs).toBe(1n);
    // before the epoch: floored seconds and a positive nanosecond part
    native.lutimensSync(f, -1_500_000_000n, -1n);
    expect([fs.statSync(f, { bigint: true }).atimeNs, fs.statSync(f, { bigint: true }).mtimeNs]).toEqual([-1_500_000_000n, -1n]);
    expect(() => native.lutimensSync(path.join(tmp(), 'missing'), 0n, 0n)).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'utimensat', path: path.join(tmp(), 'missing') }));
  });
});

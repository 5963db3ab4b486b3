/**
 * The blob applyLayer keeps is created once (O_EXCL) and then written without O_TRUNC: on ext4 a
 * file truncated to zero is flushed when it is closed (auto_da_alloc, the guard for the
 * replace-by-truncate pattern), and the close of a 1 GiB blob waited for its whole writeback
 * (an import of the bench's 1 GiB layer took 3.2 to 6.2 s instead of 3.0). Seen from outside,
 * by strace, for both ways the bytes come: a file the worker reads, and a stream that checks its
 * own digest, whose blob the calling thread writes.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeIf, whichTool } from '../fixtures/peers';

const dist = path.resolve(__dirname, '../../dist/lib');

/** Applies one small gzip layer both ways, keeping the blobs `from-file` and `from-stream` in `dir`. */
const SCRIPT = `
const fs = require('fs'), path = require('path'), zlib = require('zlib'), crypto = require('crypto');
const { Readable } = require('stream');
const { applyLayer } = require(${JSON.stringify(path.join(dist, 'tar/apply-in-worker.js'))});
const { markVerified } = require(${JSON.stringify(path.join(dist, 'digest/index.js'))});
const dir = process.argv[1];
const header = Buffer.alloc(512);
header.write('file', 0); header.write('0000644\\0', 100); header.write('0000000\\0', 108); header.write('0000000\\0', 116);
header.write('00000000005\\0', 124); header.write('00000000000\\0', 136); header.write('0', 156); header.write('ustar\\0' + '00', 257);
header.fill(' ', 148, 156);
let sum = 0; for (const b of header) sum += b;
header.write(sum.toString(8).padStart(6, '0') + '\\0 ', 148);
const body = Buffer.alloc(512); body.write('hello');
const gz = zlib.gzipSync(Buffer.concat([header, body, Buffer.alloc(1024)]));
fs.writeFileSync(path.join(dir, 'layer.tar.gz'), gz);
const digest = 'sha256:' + crypto.createHash('sha256').update(gz).digest('hex');
(async () => {
  for (const t of ['file-target', 'stream-target']) fs.mkdirSync(path.join(dir, t));
  await applyLayer(path.join(dir, 'layer.tar.gz'), path.join(dir, 'file-target'), { whiteout: 'oci', blobPath: path.join(dir, 'from-file') });
  await applyLayer(markVerified(Readable.from([gz]), digest), path.join(dir, 'stream-target'), { whiteout: 'oci', blobPath: path.join(dir, 'from-stream') });
})().catch((e) => { console.error(e); process.exit(1); });
`;

describeIf(['strace'])('the kept blob is never truncated', () => {
  test('each blob is opened once to be made (O_EXCL) and once to be written, never with O_TRUNC', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerfs-blob-flags-'));
    try {
      const log = path.join(dir, 'strace.log');
      execFileSync(whichTool('strace')!, ['-f', '-qq', '-e', 'trace=open,openat,creat', '-o', log, process.execPath, '-e', SCRIPT, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
      const lines = fs.readFileSync(log, 'utf8').split('\n');
      for (const name of ['from-file', 'from-stream']) {
        const blob = path.join(dir, name);
        expect(fs.readFileSync(blob).equals(fs.readFileSync(path.join(dir, 'layer.tar.gz')))).toBe(true);
        const opens = lines.filter((l) => l.includes(`"${blob}"`) && !l.includes('O_RDONLY'));
        expect(opens).toHaveLength(2);
        expect(opens[0]).toContain('O_EXCL');
        for (const l of opens) expect(l).not.toContain('O_TRUNC');
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

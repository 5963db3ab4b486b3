import { spawnSync } from 'child_process';
import * as path from 'path';
import { itIf } from '../fixtures/peers';

const REPO = path.resolve(__dirname, '../..');

/*
 * A worker terminated while an addon call of it throws (an aborted import or pull ends its
 * workers whatever they are doing) cannot take the exception. node-addon-api then threw again
 * from its own catch block, and std::terminate aborted the whole process (SIGABRT: it took a
 * jest worker down in the registry tests). Built with NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
 * (native/binding.gyp), the call just ends with the worker.
 */
describe('the addon in a worker that is terminated', () => {
  itIf(['addon'])('does not abort the process when the worker ends in the middle of a call that throws', () => {
    const script = `
      const { Worker } = require('worker_threads');
      const body = ${JSON.stringify(`
        const native = require(${JSON.stringify(path.join(REPO, 'dist/lib/native'))});
        require('worker_threads').parentPort.postMessage('go');
        for (;;) { try { native.lgetxattrSync('/nonexistent/x', 'user.x'); } catch {} }
      `)};
      (async () => {
        for (let i = 0; i < 200; i++) {
          const w = new Worker(body, { eval: true });
          await new Promise((r) => w.once('message', r));
          await new Promise((r) => setTimeout(r, Math.random() * 5));
          await w.terminate();
        }
        console.log('ended 200 workers');
      })();
    `;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect({ signal: r.signal, status: r.status, stdout: r.stdout.trim(), stderr: r.stderr }).toEqual({ signal: null, status: 0, stdout: 'ended 200 workers', stderr: '' });
  }, 90_000);
});

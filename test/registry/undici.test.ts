import { spawnSync } from 'child_process';
import * as path from 'path';

const dist = path.resolve(__dirname, '../../dist/lib/registry/undici.js');

/*
 * lib/registry/undici.ts loads undici's parts from their own files. These run in a child Node
 * (the module registry is then Node's own, so what was loaded can be listed), against the built
 * module in dist/ (npm test builds it first).
 */
function inChild(script: string): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, out: r.stdout.trim(), err: r.stderr };
}

describe("the registry client's undici", () => {
  test('its parts are the ones undici exports (a release that moved a file fails here, naming it)', () => {
    const r = inChild(`
      const parts = require(${JSON.stringify(dist)});
      const http = require('http');
      const server = http.createServer((req, res) => res.end(req.method + ' ' + req.url)).listen(0, '127.0.0.1', async () => {
        const url = new URL('http://127.0.0.1:' + server.address().port + '/v2/a/b/tags/list?n=2&last=x');
        const agent = parts.newAgent({ connections: 1 });
        const res = await parts.request(url, { method: 'GET', dispatcher: agent });
        const body = await res.body.text();
        const index = Object.keys(require.cache).some((f) => f.endsWith(require('path').join('node_modules', 'undici', 'index.js')));
        const undici = require('undici');
        console.log(JSON.stringify({
          body, status: res.statusCode, index,
          agent: agent instanceof undici.Agent,
          proxy: parts.newEnvHttpProxyAgent({ httpProxy: '', httpsProxy: '', noProxy: '' }) instanceof undici.EnvHttpProxyAgent,
          files: ['undici/lib/dispatcher/dispatcher', 'undici/lib/dispatcher/agent', 'undici/lib/dispatcher/env-http-proxy-agent', 'undici/lib/api'].filter((f) => { try { require.resolve(f); return false; } catch { return true; } }),
        }));
        await agent.close();
        server.close();
      });
    `);
    expect(r.err).toBe('');
    const got = JSON.parse(r.out);
    expect(got.files).toEqual([]);
    expect(got).toEqual({ body: 'GET /v2/a/b/tags/list?n=2&last=x', status: 200, index: false, agent: true, proxy: true, files: [] });
  });
});

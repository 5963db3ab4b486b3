import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as path from 'path';

/** TEMPORARY until regclient's test/registry/registry-server.ts lands: docker-registry on 127.0.0.1. */
export interface AuthRegistryOptions {
  dir: string;
  tls?: { cert: string; key: string; clientCA?: string };
  htpasswd?: string;
  token?: { realm: string; service: string; issuer: string; rootcertbundle: string };
}

export interface RunningRegistry {
  host: string;
  url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function startAuthRegistry(o: AuthRegistryOptions): Promise<RunningRegistry> {
  const port = await freePort();
  fs.mkdirSync(o.dir, { recursive: true });
  const lines = ['version: 0.1', 'log:', '  level: error', 'storage:', '  filesystem:', `    rootdirectory: ${path.join(o.dir, 'data')}`, '  delete:', '    enabled: true', 'http:', `  addr: 127.0.0.1:${port}`, '  secret: layerfs-test'];
  if (o.tls) {
    lines.push('  tls:', `    certificate: ${o.tls.cert}`, `    key: ${o.tls.key}`);
    if (o.tls.clientCA) lines.push('    clientcas:', `      - ${o.tls.clientCA}`);
  }
  if (o.htpasswd) lines.push('auth:', '  htpasswd:', '    realm: layerfs-test', `    path: ${o.htpasswd}`);
  if (o.token) lines.push('auth:', '  token:', `    realm: ${o.token.realm}`, `    service: ${o.token.service}`, `    issuer: ${o.token.issuer}`, `    rootcertbundle: ${o.token.rootcertbundle}`);
  const config = path.join(o.dir, 'config.yml');
  fs.writeFileSync(config, lines.join('\n') + '\n');
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const url = `${o.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${err}`);
    const up = await new Promise<boolean>((resolve) => {
      const mod = o.tls ? https : http;
      const req = mod.get(`${url}/v2/`, { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', (e) => resolve(/handshake|certificate|alert/i.test(String(e))));
    });
    if (up) break;
    if (i > 100) throw new Error(`docker-registry did not come up: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host: `127.0.0.1:${port}`,
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.on('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

import { execFileSync, spawn, type ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { makeTempDir, removeTempDir } from '../fixtures/tmp';
import { unmet, whichTool } from '../fixtures/peers';

/**
 * A real registry for the tests: Debian's `docker-registry` (distribution 2.8), on a free port of
 * 127.0.0.1, with filesystem storage in a temp directory and deletes enabled. The options add
 * TLS and auth sections (htpasswd, token) or any other part of the configuration; the config is
 * written as JSON, which the registry's YAML parser reads.
 *
 *   const why = registryUnmet();           // [] or the reasons to skip
 *   const reg = await startRegistry();     // reg.host is 127.0.0.1:PORT
 *   ...
 *   await reg.stop();
 */

export const REGISTRY_BIN = 'docker-registry';

/** Why a registry cannot be started here ([] when it can), with the Debian package to install. */
export function registryUnmet(): string[] {
  return unmet([REGISTRY_BIN]);
}

export interface RegistryServerOptions {
  /** serve TLS with this certificate and key (PEM files); `clientCAs` asks clients for a certificate */
  tls?: { certificate: string; key: string; clientCAs?: string[] };
  /** the `auth` section as distribution reads it, e.g. { htpasswd: { realm, path } } or { token: { realm, service, issuer, rootcertbundle } } */
  auth?: Record<string, unknown>;
  /** htpasswd auth with these users (user → password), bcrypt-hashed by `htpasswd -Bbn` (apache2-utils): distribution accepts bcrypt only */
  htpasswd?: Record<string, string>;
  /** a pull-through cache of another registry: { remoteurl, username?, password? } */
  proxy?: Record<string, unknown>;
  /** merged last into the whole configuration */
  config?: Record<string, unknown>;
  /** keep the storage here (a restart on the same data); default a fresh temp dir, removed by stop() */
  storageDir?: string;
  /** listen on this port (a restart on the same address); default a free one */
  port?: number;
  /** how long to wait for it to listen; default 20 s */
  startTimeoutMs?: number;
}

export interface RegistryServer {
  /** 127.0.0.1:PORT */
  host: string;
  port: number;
  /** http(s)://127.0.0.1:PORT */
  url: string;
  storageDir: string;
  configFile: string;
  /** what the registry wrote to stderr (its log), for a failing test's message */
  log(): string;
  /** stops it (SIGTERM, then SIGKILL) and removes the temp storage unless it was given */
  stop(): Promise<void>;
  /** stops it, keeping storage and port, and starts it again */
  restart(): Promise<void>;
  process: ChildProcess;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startRegistry(options: RegistryServerOptions = {}): Promise<RegistryServer> {
  const bin = whichTool(REGISTRY_BIN);
  if (!bin) throw new Error(`startRegistry: ${registryUnmet().join('; ')}`);
  const work = makeTempDir('registry');
  const storageDir = options.storageDir ?? path.join(work, 'storage');
  fs.mkdirSync(storageDir, { recursive: true });
  let port = options.port ?? (await freePort());
  const configFile = path.join(work, 'config.yml');
  const htpasswdFile = path.join(work, 'htpasswd');
  if (options.htpasswd) {
    const htpasswd = whichTool('htpasswd');
    if (!htpasswd) throw new Error(`startRegistry: ${unmet(['htpasswd']).join('; ')}`);
    fs.writeFileSync(htpasswdFile, Object.entries(options.htpasswd).map(([u, p]) => execFileSync(htpasswd, ['-Bbn', u, p], { encoding: 'utf8' }).trim() + '\n').join(''));
  }

  const writeConfig = () => {
    let config: Record<string, unknown> = {
      version: 0.1,
      log: { level: 'info', accesslog: { disabled: true }, formatter: 'text' },
      storage: {
        filesystem: { rootdirectory: storageDir },
        delete: { enabled: true },
        maintenance: { uploadpurging: { enabled: false }, readonly: { enabled: false } },
      },
      http: {
        addr: `127.0.0.1:${port}`,
        secret: randomBytes(16).toString('hex'),
        ...(options.tls ? { tls: { certificate: options.tls.certificate, key: options.tls.key, ...(options.tls.clientCAs ? { clientcas: options.tls.clientCAs } : {}) } } : {}),
      },
    };
    if (options.htpasswd) config.auth = { htpasswd: { realm: 'layerfs-test', path: htpasswdFile } };
    if (options.auth) config.auth = options.auth;
    if (options.proxy) config.proxy = options.proxy;
    if (options.config) config = deepMerge(config, options.config);
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  };

  let child!: ChildProcess;
  let logText = '';
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  const launch = async (): Promise<void> => {
    writeConfig();
    // REGISTRY_* variables would override the file
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('REGISTRY_') && !/^(https?|no)_proxy$/i.test(k)) env[k] = v;
    exited = null;
    child = spawn(bin, ['serve', configFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (b: Buffer) => {
      logText += b.toString('utf8');
      if (logText.length > 1 << 20) logText = logText.slice(-(1 << 19));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code, signal) => {
      exited = { code, signal };
    });
    const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
    for (;;) {
      // set by the exit handler meanwhile (the compiler cannot see that across the awaits)
      const ended = exited as { code: number | null; signal: NodeJS.Signals | null } | null;
      if (ended) throw new Error(`docker-registry exited (${ended.code ?? ended.signal}) before listening on 127.0.0.1:${port}:\n${logText.slice(-4000)}`);
      // it listens once the log says so; a connect alone could reach another process on a reused port
      if (/listening on/i.test(logText) && (await canConnect(port))) return;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`docker-registry did not listen on 127.0.0.1:${port} within ${options.startTimeoutMs ?? 20_000} ms:\n${logText.slice(-4000)}`);
      }
      await sleep(50);
    }
  };

  const halt = async (): Promise<void> => {
    if (exited || !child) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  };

  // a free port can be taken between freePort() and the registry's bind: try another
  for (let tries = 0; ; tries++) {
    try {
      await launch();
      break;
    } catch (e) {
      await halt();
      if (options.port !== undefined || tries >= 3 || !/address already in use/i.test(logText)) {
        removeTempDir(work);
        throw e;
      }
      port = await freePort();
      logText = '';
    }
  }

  const server: RegistryServer = {
    host: `127.0.0.1:${port}`,
    port,
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    storageDir,
    configFile,
    log: () => logText,
    get process() {
      return child;
    },
    async stop() {
      await halt();
      // the temp dir holds the config (and the storage, unless it was given)
      removeTempDir(work);
    },
    async restart() {
      await halt();
      await launch();
    },
  };
  return server;
}

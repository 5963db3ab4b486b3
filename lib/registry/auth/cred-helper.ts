import { spawn } from 'child_process';
import { LayerfsError } from '../../errors';
import type { Credentials } from './credentials-types';

/**
 * docker's credential helpers: a program `docker-credential-NAME` on PATH, run with one verb
 * and its input on stdin:
 *   get    stdin the server URL, stdout {"ServerURL","Username","Secret"};
 *          Username "<token>" means Secret is an identity token;
 *   store  stdin {"ServerURL","Username","Secret"};
 *   erase  stdin the server URL.
 * "credentials not found" (on stdout, exit 1) is an answer: none kept.
 */

export class HelperMissingError extends LayerfsError {
  constructor(readonly helper: string) {
    super('LAYERFS_CREDENTIAL_HELPER', `the credential helper docker-credential-${helper} is not on PATH`);
  }
}

export class HelperFailedError extends LayerfsError {
  constructor(readonly helper: string, verb: string, detail: string) {
    super('LAYERFS_CREDENTIAL_HELPER', `docker-credential-${helper} ${verb} failed: ${detail}`);
  }
}

const NOT_FOUND = /credentials not found/i;

function run(helper: string, verb: string, input: string, env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${helper}`, [verb], { stdio: ['pipe', 'pipe', 'pipe'], env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new HelperMissingError(helper) : new HelperFailedError(helper, verb, e.message)));
    child.on('close', (code) => resolve({ code: code ?? 1, out: Buffer.concat(out).toString('utf8'), err: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => {
      // a helper that exits without reading its input: its exit status says what happened
    });
    child.stdin.end(input);
  });
}

export async function helperGet(helper: string, serverURL: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  const r = await run(helper, 'get', serverURL, env);
  if (r.code !== 0) {
    if (NOT_FOUND.test(r.out) || NOT_FOUND.test(r.err)) return undefined;
    throw new HelperFailedError(helper, 'get', (r.err || r.out).trim() || `exit status ${r.code}`);
  }
  let j: { Username?: unknown; Secret?: unknown };
  try {
    j = JSON.parse(r.out) as typeof j;
  } catch {
    throw new HelperFailedError(helper, 'get', 'its answer is not JSON');
  }
  const username = typeof j.Username === 'string' ? j.Username : '';
  const secret = typeof j.Secret === 'string' ? j.Secret : '';
  if (!secret) return undefined;
  const source = `docker-credential-${helper}`;
  return username === '<token>' ? { identityToken: secret, source } : { username, password: secret, source };
}

export async function helperStore(helper: string, serverURL: string, username: string, secret: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const r = await run(helper, 'store', JSON.stringify({ ServerURL: serverURL, Username: username, Secret: secret }), env);
  if (r.code !== 0) throw new HelperFailedError(helper, 'store', (r.err || r.out).trim() || `exit status ${r.code}`);
}

/** false: the helper kept nothing for that server */
export async function helperErase(helper: string, serverURL: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const r = await run(helper, 'erase', serverURL, env);
  if (r.code === 0) return true;
  if (NOT_FOUND.test(r.out) || NOT_FOUND.test(r.err)) return false;
  throw new HelperFailedError(helper, 'erase', (r.err || r.out).trim() || `exit status ${r.code}`);
}

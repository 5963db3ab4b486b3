import { spawn, spawnSync } from 'child_process';
import * as path from 'path';

export const CLI = path.join(__dirname, '../../bin/layerfs');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json(): any;
}

/** Runs the built `layerfs` binary as a user would (npm test builds dist/ first). */
export function layerfs(args: string[], opts: { input?: Buffer | string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    input: opts.input,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    cwd: opts.cwd,
    maxBuffer: 256 << 20,
  });
  const stdout = r.stdout.toString();
  return { code: r.status ?? -1, stdout, stderr: r.stderr.toString(), json: () => JSON.parse(stdout) };
}

/** layerfs in a child that does not block this process's event loop (for a server the test runs in-process, as the fake registry). */
export function layerfsAsync(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, json: () => JSON.parse(stdout) }));
  });
}

import { spawnSync } from 'child_process';
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

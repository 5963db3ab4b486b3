import type { Command } from 'commander';
import type { CliContext } from '../context';
import { UsageError } from '../usage';
import { addTlsFlags, registryFlags } from '../registry-flags';
import { lazy } from '../../lazy';

const promptModule = lazy<typeof import('../prompt')>(() => require('../prompt'));
const loginModule = lazy<typeof import('../../registry/auth/login')>(() => require('../../registry/auth/login'));

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('login')
    .description('check credentials against a registry and keep them in the auth file (podman\'s auth.json, or the file given), as podman login does')
    .argument('<registry>', 'HOST[:PORT][/NAMESPACE]; docker.io for Docker Hub')
    .option('-u, --username <name>', 'the username (asked for on a terminal when left out)')
    .option('-p, --password <password>', 'the password (visible to other users in the process list: prefer --password-stdin)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--authfile <file>', 'the auth file written (default: $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json)');
  addTlsFlags(cmd).action(async (target: string, o: { username?: string; password?: string; passwordStdin?: boolean; authfile?: string; certDir?: string; tlsVerify?: boolean }) => {
    if (o.password !== undefined && o.passwordStdin) throw new UsageError('--password and --password-stdin are exclusive');
    const { prompt, readStdin } = promptModule();
    let username = o.username;
    let password = o.password;
    if (o.passwordStdin) {
      if (username === undefined) throw new UsageError('--password-stdin needs --username');
      password = (await readStdin()).replace(/\r?\n$/, '');
    }
    if (username === undefined) username = await prompt('Username: ', false);
    if (password === undefined) password = await prompt('Password: ', true);
    if (!username) throw new UsageError('login: the username is empty');
    const flags = registryFlags(o);
    const { login } = loginModule();
    const r = await login(target, { username, password }, { authfile: flags.authfile, certDir: flags.certDir, tlsVerify: flags.tlsVerify });
    ctx.print(r, () => 'Login Succeeded!');
  });
}

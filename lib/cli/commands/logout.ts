import type { Command } from 'commander';
import type { CliContext } from '../context';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('logout')
    .description('remove the credentials of a registry from the auth file (or its credential helper), as podman logout does')
    .argument('<registry>', 'HOST[:PORT][/NAMESPACE]; docker.io for Docker Hub')
    .option('--authfile <file>', 'the auth file (default: $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json)')
    .action(async (target: string, o: { authfile?: string }) => {
      const { logout } = require('../../registry/auth/login') as typeof import('../../registry/auth/login');
      const r = await logout(target, { authfile: o.authfile });
      ctx.print(r, () => `Removed login credentials for ${r.key}`);
    });
}

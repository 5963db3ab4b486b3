import type { Command } from 'commander';
import type { CliContext } from '../context';
import { UsageError } from '../usage';
import { lazy } from '../../lazy';

const loginModule = lazy<typeof import('../../registry/auth/login')>(() => require('../../registry/auth/login'));

export function register(program: Command, ctx: CliContext): void {
  program
    .command('logout')
    .description('remove the credentials of a registry from the auth file (or its credential helper), as podman logout does')
    .argument('[registry]', 'HOST[:PORT][/NAMESPACE]; docker.io for Docker Hub')
    .option('-a, --all', 'remove the credentials of every registry in the auth file')
    .option('--authfile <file>', 'the auth file (default: $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json)')
    .action(async (target: string | undefined, o: { all?: boolean; authfile?: string }) => {
      if (o.all && target !== undefined) throw new UsageError('give a registry or --all, not both');
      if (!o.all && target === undefined) throw new UsageError('missing argument: the registry (or --all)');
      const auth = loginModule();
      if (o.all) {
        const r = await auth.logoutAll({ authfile: o.authfile });
        ctx.print(r, () => `Removed login credentials for all registries (${r.removed.length}) from ${r.file}`);
        return;
      }
      const r = await auth.logout(target!, { authfile: o.authfile });
      ctx.print(r, () => `Removed login credentials for ${r.key}`);
    });
}

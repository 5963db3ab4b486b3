import type { Command } from 'commander';
import type { CliContext } from '../context';

type Register = (program: Command, ctx: CliContext) => void;

/*
 * Every subcommand, one file each, in the order `--help` lists them, with the command names each
 * registers. A command line that names one loads and registers only the files that define it
 * (commander then parses one command, and the others' modules are never loaded); help and
 * anything else get them all.
 */
const FILES: Array<[names: string[], load: () => { register: Register }]> = [
  [['import'], () => require('./import')],
  [['export'], () => require('./export')],
  [['ls'], () => require('./ls')],
  [['create'], () => require('./create')],
  [['mount'], () => require('./mount')],
  [['umount'], () => require('./umount')],
  [['rm'], () => require('./rm')],
  [['diff'], () => require('./diff')],
  [['commit'], () => require('./commit')],
  [['run'], () => require('./run')],
  [['bundle'], () => require('./bundle')],
  [['image'], () => require('./image')],
  [['pull', 'push'], () => require('./registry')],
  [['layers'], () => require('./layers')],
  // `layer build`, and `image build` added to the image command
  [['layer', 'image'], () => require('./build')],
  [['fsck', 'gc', 'rmi'], () => require('./maintenance')],
  [['login'], () => require('./login')],
  [['logout'], () => require('./logout')],
  [['unshare'], () => require('./unshare')],
];

/** The register functions of `command` (every one when it is undefined or names none). */
export function commandsFor(command?: string): Register[] {
  const some = command === undefined ? [] : FILES.filter(([names]) => names.includes(command));
  return (some.length ? some : FILES).map(([, load]) => load().register);
}

import type { Command } from 'commander';
import type { CliContext } from '../context';
import * as importCmd from './import';
import * as ls from './ls';
import * as exportCmd from './export';
import * as create from './create';
import * as mount from './mount';
import * as umount from './umount';
import * as rm from './rm';
import * as diff from './diff';
import * as commit from './commit';
import * as image from './image';
import * as layers from './layers';
import * as build from './build';
import * as maintenance from './maintenance';
import * as runCmd from './run';
import * as bundle from './bundle';
import * as login from './login';
import * as logout from './logout';
import * as unshare from './unshare';
import * as registry from './registry';

/** Every subcommand, one file each, in the order `--help` lists them. */
export const commands: Array<(program: Command, ctx: CliContext) => void> = [
  importCmd.register,
  exportCmd.register,
  ls.register,
  create.register,
  mount.register,
  umount.register,
  rm.register,
  diff.register,
  commit.register,
  runCmd.register,
  bundle.register,
  image.register,
  registry.register,
  layers.register,
  build.register,
  maintenance.register,
  login.register,
  logout.register,
  unshare.register,
];

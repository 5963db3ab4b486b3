import type { Command } from 'commander';
import type { CliContext } from '../context';
import * as importCmd from './import';
import * as ls from './ls';
import * as exportCmd from './export';

/** Every subcommand, one file each, in the order `--help` lists them. */
export const commands: Array<(program: Command, ctx: CliContext) => void> = [importCmd.register, exportCmd.register, ls.register];

import type { LayerStore } from '../layer-store';

/** What every subcommand gets: the global options and a lazily opened store. */
export interface CliContext {
  json: boolean;
  storeDir?: string;
  store(): Promise<LayerStore>;
  /**
   * Prints the one result: JSON for programs, text for people. On stdout, unless stdout carries
   * data (`-o -`): then on stderr, so that the data stays intact.
   */
  print(json: unknown, text: () => string): void;
  /** a line of text for people only (nothing under --json); where print writes */
  info(text: string): void;
  warn(text: string): void;
  /**
   * Stdout for a command's data (`-o -`: a tarball), claimed before the work starts: from then
   * on results and errors go to stderr. Refuses a terminal (a usage error).
   */
  dataOut(): NodeJS.WritableStream;
}

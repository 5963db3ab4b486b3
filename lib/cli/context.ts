import type { LayerStore } from '../layer-store';

/** What every subcommand gets: the global options and a lazily opened store. */
export interface CliContext {
  json: boolean;
  storeDir?: string;
  store(): Promise<LayerStore>;
  /** prints one result: JSON for programs, text for people */
  print(json: unknown, text: () => string): void;
  /** a line of text for people only (nothing under --json) */
  info(text: string): void;
  warn(text: string): void;
}

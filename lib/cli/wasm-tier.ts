/**
 * undici parses HTTP/1.1 with llhttp compiled to WebAssembly. V8 compiles it with its baseline
 * compiler (Liftoff), then, once the parser is hot (a pull parses a gigabyte of bodies), again
 * with TurboFan on a background thread; for a moment that compile holds 15-25 MB of memory
 * (seen with strace and smaps: one malloc arena of a V8 platform thread), and that moment was the
 * peak RSS of a CLI pull: 133-145 MiB with it, 127-131 MiB without, the pull no slower (what a pull
 * spends on the parser is the copy of each socket read into its memory, not its code). The CLI is
 * a process of its own, so its registry commands keep WebAssembly at the baseline tier; the
 * library leaves V8's flags to the process it runs in.
 */
export function keepWasmAtBaseline(): void {
  // before the first connection: undici compiles the parser then
  (require('v8') as typeof import('v8')).setFlagsFromString('--liftoff-only');
}

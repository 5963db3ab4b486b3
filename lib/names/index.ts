/**
 * Names from layers and containers, byte for byte. A file name on Linux is any bytes but '/'
 * and NUL; layerfs carries names as JavaScript strings in the "surrogateescape" form (Python's,
 * PEP 383): the bytes are decoded as UTF-8, and each byte of an invalid sequence becomes one
 * lone surrogate U+DC80..U+DCFF. A name that is valid UTF-8 is its ordinary string, so the common
 * case costs nothing; any bytes give a distinct string, and nameBytes gives the bytes back.
 *
 * Rules for code that handles a path from a layer, a container or a tar entry:
 * - never hand such a string to `fs` or the addon directly: Node encodes a lone surrogate as
 *   EF BF BD and silently names another file. Pass `fsPath(p)` (the string itself, or its bytes);
 * - list directories with readdirNamesSync and read symlinks with readlinkNameSync (they re-read
 *   as bytes only when Node's decoding lost some);
 * - tar headers take nameBytes(p); names from a tar header become strings with nameOfBytes;
 * - sort with byteOrder / compareTreePaths (the order of the bytes);
 * - JSON keeps a lone surrogate as a `\udcNN` escape, which parses back to the same string;
 *   text output shows it as `\xNN` (printable).
 *
 * This is the one module that converts between names and bytes.
 */
export { nameOfBytes, nameBytes, fsPath, fsArg, hasEscapes, printable } from './escape';
export { byteOrder, compareTreePaths } from './order';
export { readdirNamesSync, readdirNames, readlinkNameSync, readlinkName, readListedLinkSync } from './listing';

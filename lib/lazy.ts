/**
 * A module (or any value) made on first use and kept: `const images = lazy<typeof import(M)>(() => require(M))`
 * with M the module's literal name, then `images().importImage(…)`. The upper parts load on first use, not with the module that
 * names them (a `layerfs mount` never loads the tar or image code); the literal `require()`
 * stays in the caller, where the bundler and the import rule's test see it. A leaf: it imports nothing.
 */
export function lazy<T>(make: () => T): () => T {
  let made = false;
  let value: T;
  return () => {
    if (!made) {
      value = make();
      made = true;
    }
    return value;
  };
}

import * as fs from 'fs';
import * as path from 'path';

/**
 * A docker credential helper, `docker-credential-NAME`, for tests: a Node script that keeps
 * its credentials in a JSON file (`store`, server URL → {Username, Secret}) and logs every call
 * (verb and input) to `log`, one JSON line each. Put `bin` first on PATH.
 */
export interface FakeHelper {
  bin: string;
  store: string;
  log: string;
  calls(): Array<{ verb: string; input: string }>;
}

export function makeFakeHelper(dir: string, name = 'test', initial: Record<string, { Username: string; Secret: string }> = {}): FakeHelper {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  const store = path.join(dir, `${name}-store.json`);
  const log = path.join(dir, `${name}-calls.log`);
  fs.writeFileSync(store, JSON.stringify(initial));
  const script = `#!${process.execPath}
const fs = require('fs');
const verb = process.argv[2];
const input = fs.readFileSync(0, 'utf8');
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ verb, input }) + '\\n');
const store = JSON.parse(fs.readFileSync(${JSON.stringify(store)}, 'utf8'));
const save = () => fs.writeFileSync(${JSON.stringify(store)}, JSON.stringify(store));
if (verb === 'get') {
  const c = store[input.trim()];
  if (!c) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
  process.stdout.write(JSON.stringify({ ServerURL: input.trim(), Username: c.Username, Secret: c.Secret }));
} else if (verb === 'store') {
  const j = JSON.parse(input);
  store[j.ServerURL] = { Username: j.Username, Secret: j.Secret };
  save();
} else if (verb === 'erase') {
  if (!store[input.trim()]) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
  delete store[input.trim()];
  save();
} else { process.stderr.write('unknown verb ' + verb + '\\n'); process.exit(2); }
`;
  fs.writeFileSync(path.join(bin, `docker-credential-${name}`), script, { mode: 0o755 });
  return {
    bin,
    store,
    log,
    calls: () =>
      fs.existsSync(log)
        ? fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { verb: string; input: string })
        : [],
  };
}

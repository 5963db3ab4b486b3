import * as fs from 'fs';
import * as path from 'path';
import { execFileSync, spawnSync } from 'child_process';
import { asUser, CLI, cliAs, makeUser, removeUser, rootlessUnmet, TestUser } from './users';
import { describeIf } from '../fixtures/peers';

/**
 * Suites written for root, run by an ordinary user (with a subordinate range) inside
 * `layerfs unshare`: there the user is root of the store's user namespace, overlay mounts take
 * userxattr, and a store's whiteout format is overlay-userxattr. Jest runs as the user on the one
 * file; its JSON report is read here. The driver conformance suite must mount (its overlay cases
 * pass, none skipped), and the hostile corpus must hold as it does for root.
 */
const why = rootlessUnmet();
const REPO = path.resolve(__dirname, '../..');
const JEST = require.resolve('jest/bin/jest');

interface JestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: Array<{ message: string; assertionResults: Array<{ fullName: string; status: string; failureMessages: string[] }> }>;
}

describeIf(why === null, why ?? '')('root-only suites, as an ordinary user inside `layerfs unshare`', () => {
  let u: TestUser;
  beforeAll(() => {
    u = makeUser(true);
  });
  afterAll(() => removeUser(u));

  function runAsUser(file: string): JestReport {
    const out = path.join(u.home, `${path.basename(file)}.json`);
    // its own temporary directory: the shared fixture cache under /tmp is root's
    const tmp = path.join(u.home, 'tmp');
    fs.mkdirSync(tmp, { recursive: true });
    fs.chownSync(tmp, u.uid, u.gid);
    const r = cliAs(u, ['unshare', process.execPath, JEST, '--config', path.join(REPO, 'jest.config.js'), '--cacheDirectory', path.join(u.home, '.jest-cache'), '--maxWorkers=1', '--ci', '--json', '--outputFile', out, '--runTestsByPath', path.join(REPO, file)], { env: { TMPDIR: tmp } });
    if (!fs.existsSync(out)) throw new Error(`jest as ${u.name} wrote no report: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
    return JSON.parse(fs.readFileSync(out, 'utf8')) as JestReport;
  }
  const failures = (rep: JestReport) => [...rep.testResults.filter((t) => t.message && !t.assertionResults.length).map((t) => t.message), ...rep.testResults.flatMap((t) => t.assertionResults.filter((a) => a.status === 'failed').map((a) => `${a.fullName}: ${a.failureMessages.join('\n').slice(0, 2000)}`))];
  const named = (rep: JestReport, re: RegExp, status: string) => rep.testResults.flatMap((t) => t.assertionResults).filter((a) => re.test(a.fullName) && a.status === status).map((a) => a.fullName);

  test(
    'the driver conformance suite: both drivers, the overlay one mounting with userxattr',
    () => {
      const rep = runAsUser('test/drivers/conformance.test.ts');
      expect(failures(rep)).toEqual([]);
      expect(named(rep, /^overlay driver/, 'passed').length).toBeGreaterThanOrEqual(8);
      expect(named(rep, /^overlay driver/, 'pending')).toEqual([]);
      expect(named(rep, /^copy driver/, 'passed').length).toBeGreaterThanOrEqual(8);
    },
    900_000,
  );

  test(
    'the hostile corpus: every case as safe as for root, in the oci and overlay-userxattr formats',
    () => {
      const rep = runAsUser('test/security/corpus.test.ts');
      expect(failures(rep)).toEqual([]);
      expect(named(rep, /overlay-userxattr whiteouts/, 'passed').length).toBeGreaterThanOrEqual(50);
      expect(rep.numPendingTests).toBe(0);
    },
    900_000,
  );

  test(
    '`layer build` of the user\'s own directory: the bytes root builds from it (same --owner), and without one the user is 0:0, root of the namespace; single-uid mode too',
    () => {
      const single = makeUser(false);
      try {
        const digests: string[] = [];
        for (const who of [u, single]) {
          const r = asUser(who, 'sh', ['-c', 'mkdir -p app/dist && echo "{}" > app/package.json && echo hi > app/dist/main.js && chmod 755 app/dist/main.js && ln -s dist/main.js app/entry && echo "*.log" > app/.dockerignore && echo x > app/debug.log']);
          expect(r.status).toBe(0);
          const owned = JSON.parse(cliAs(who, ['--json', 'layer', 'build', 'app', '--prefix', '/app', '--owner', '1000:1000']).stdout);
          digests.push(owned.digest);
          const own = JSON.parse(cliAs(who, ['--json', 'layer', 'build', 'app']).stdout);
          const out = path.join(who.home, 'own.tar');
          expect(cliAs(who, ['export', own.chainId, '-o', out]).status).toBe(0);
          const listing = execFileSync('tar', ['--numeric-owner', '-tvf', out]).toString().trim().split('\n');
          expect(listing.map((l) => l.split(/\s+/)[1])).toEqual(listing.map(() => '0/0'));
        }
        const rootStore = fs.mkdtempSync(path.join(require('os').tmpdir(), 'layerfs-asuser-build-'));
        try {
          const r = spawnSync(process.execPath, [CLI, '--store', rootStore, '--json', 'layer', 'build', path.join(u.home, 'app'), '--prefix', '/app', '--owner', '1000:1000'], { encoding: 'utf8' });
          expect(digests).toEqual([JSON.parse(r.stdout).digest, JSON.parse(r.stdout).digest]);
        } finally {
          fs.rmSync(rootStore, { recursive: true, force: true });
        }
      } finally {
        removeUser(single);
      }
    },
    300_000,
  );
});

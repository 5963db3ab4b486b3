const path = require('path');

// Ends the run with one plain line, `N passed, N failed, N skipped`, that any CI can read.
// Before it, why each wholly skipped test file was skipped (a peer tool to install, root, the
// addon): jest's default reporter prints nothing of a file whose tests were all skipped, so the
// message the file gave (test/fixtures/peers.ts) would be lost where it matters most, on a
// fresh machine.
class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    this.skippedFiles = [];
  }

  onTestResult(_test, result) {
    if (!result.skipped || !result.console?.length) return;
    const messages = result.console.filter((c) => c.type === 'warn' || c.type === 'log' || c.type === 'info').map((c) => c.message);
    if (messages.length) this.skippedFiles.push({ file: path.relative(this.rootDir, result.testFilePath), messages });
  }

  onRunComplete(_contexts, results) {
    const { numPassedTests: p, numFailedTests: f, numPendingTests: s, numTodoTests: t } = results;
    if (this.skippedFiles.length) {
      const lines = ['', 'test files skipped whole, and why:'];
      for (const { file, messages } of this.skippedFiles.sort((a, b) => a.file.localeCompare(b.file))) {
        lines.push(`  ${file}`);
        for (const m of messages) lines.push(`    ${m.split('\n').join('\n    ')}`);
      }
      process.stdout.write(lines.join('\n') + '\n');
    }
    process.stdout.write(`\n${p} passed, ${f} failed, ${s + t} skipped\n`);
  }
}
module.exports = SummaryReporter;

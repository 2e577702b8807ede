// Jest's default reporter prints nothing of a test file whose tests were all skipped, not even its
// console output (when the files run in several workers). A suite that skips itself on this machine
// (the browser tests without Chromium) says why in a console line starting with "SKIPPED:"; this
// reporter prints those lines at the end of the run, so that a skip is never silent.
class SkippedSuitesReporter {
  constructor() {
    this.lines = [];
  }

  onTestResult(_test, result) {
    if (!result.skipped) return;
    for (const entry of result.console ?? []) {
      if (String(entry.message).startsWith('SKIPPED:')) this.lines.push(String(entry.message));
    }
  }

  onRunComplete(_contexts, results) {
    // A run of one file is reported verbosely, console output of a skipped file included.
    if (results.numTotalTestSuites <= 1) return;
    for (const line of this.lines) process.stderr.write(`\n${line}\n`);
  }
}

module.exports = SkippedSuitesReporter;

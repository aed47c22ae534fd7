/** @type {import('jest').Config} */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  // Type errors are caught once by `tsc --noEmit` in `npm test`; re-checking per file only slows jest.
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
  testTimeout: 60000,
  // Every copy of @pulumi/pulumi a file loads (one per program run) stays in its worker's heap after
  // the file: a worker whose heap holds more than this after a file is replaced (its RSS is about 1.5
  // times that), so memory stays that of the largest file (docs/testing.md) instead of growing with the
  // suite. It also keeps jest from running in band on a 2-core machine, where it would hold every
  // file's copies in its own process.
  workerIdleMemoryLimit: "512MB",
  // Two workers, whatever the core count: a worker peaks near 1.2 GB while a file evaluates the
  // program several times, so more would multiply memory for little time (docs/testing.md).
  maxWorkers: 2,
};

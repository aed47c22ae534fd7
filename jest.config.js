/** @type {import('jest').Config} */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  // Type errors are caught once by `tsc --noEmit` in `npm test`; re-checking per file only slows jest.
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
  testTimeout: 60000,
  // Each test file loads @pulumi/pulumi and the provider SDKs afresh; in one long-lived process
  // that piles up (a run in band reached 14 GB and was OOM-killed on a 2-core CI machine). A
  // worker above this after a file is replaced; setting it also keeps jest out of band.
  workerIdleMemoryLimit: "1GB",
};

import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The official CLI's compatibility test has a run of its own (npm run test:compat).
    exclude: ["test/compat/**", "**/node_modules/**"],
    // One migrated template per run, which each file's database is copied from.
    globalSetup: ["test/support/globalSetup.ts"],
    // Every file works in databases of its own, so files may run in parallel;
    // the engine and squawk are subprocesses, hence the generous timeouts.
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})

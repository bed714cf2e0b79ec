import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Runs of their own: the official CLI's compatibility (npm run test:compat)
    // and the refusal of PostgreSQL 13 (npm run test:matrix).
    exclude: ["test/compat/**", "test/matrix/**", "**/node_modules/**"],
    // One migrated template per run, which each file's database is copied from.
    globalSetup: ["test/support/globalSetup.ts"],
    // Every file works in databases of its own, so files may run in parallel;
    // the engine and squawk are subprocesses, hence the generous timeouts.
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})

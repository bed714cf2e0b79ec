import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Runs of their own: the official CLI's compatibility (npm run test:compat)
    // and the refusal of PostgreSQL 13 (npm run test:matrix).
    exclude: ["test/compat/**", "test/matrix/**", "**/node_modules/**"],
    // One migrated template per run, which each file's database is copied from.
    globalSetup: ["test/support/globalSetup.ts"],
    // Three files at a time, though the machine may have two cores: most of a
    // file's time is spent waiting on PostgreSQL, the engine and child
    // processes, not on this CPU (vitest's default, cores - 1, ran one at a
    // time here: 270 s against 123 s). Every file works in databases of its
    // own, and the files together stay well under the server's 100 connections.
    maxWorkers: 3,
    // A worker keeps its modules from one file to the next instead of
    // starting afresh for each of the 69: the suite is CPU-bound on two cores,
    // and this took the test processes' CPU from 3m26-4m04 to 2m22-2m52 of
    // user time (vitest's own hint, measured on 2026-12-07). Every file works
    // on databases of its own and keeps its state in its own module scope.
    isolate: false,
    // Every file works in databases of its own, so files may run in parallel;
    // the engine and squawk are subprocesses, hence the generous timeouts.
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})

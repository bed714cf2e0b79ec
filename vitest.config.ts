import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Every file works in databases of its own, so files may run in parallel;
    // Atlas and pg_dump are subprocesses, hence the generous timeouts.
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})

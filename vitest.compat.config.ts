import { defineConfig } from "vitest/config"

// `npm run test:compat`: the official atlas CLI against the project's files
// and the engine's revision table, on the local PostgreSQL 15.
export default defineConfig({
  test: {
    include: ["test/compat/**/*.test.ts"],
    globalSetup: ["test/support/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})

import { defineConfig } from "vitest/config"

// The matrix's check of a server the engine refuses (PostgreSQL 13): no
// template database, which could not be built there.
export default defineConfig({
  test: {
    include: ["test/matrix/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})

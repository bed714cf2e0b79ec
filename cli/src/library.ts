/**
 * The one door from the tooling into the library: the CLI, the schema tools
 * and the quick start use the control-plane library only through its public
 * API (src/index.ts), exactly as a backend program does.
 */
export * from "../../src/index.ts"

/** `fleet`: migrate every tenant database to the tenant template, and see where the fleet stands (FleetMigrations). */
import { Command } from "effect/cli"
import { FleetMigrations } from "../fleet/FleetMigrations.ts"
import { commandFleetMigrate } from "./fleet/migrate.ts"
import { commandFleetStatus } from "./fleet/status.ts"

export const commandFleet = Command.make("fleet").pipe(
  Command.withDescription(
    "Apply the tenant template's migrations (tenant/) to every tenant database with bounded concurrency, canaries and a ledger, and show the versions across the fleet."
  ),
  Command.withShortDescription("Migrate the tenant databases."),
  Command.withSubcommands([
    commandFleetMigrate.pipe(Command.provide(FleetMigrations.layer)),
    commandFleetStatus.pipe(Command.provide(FleetMigrations.layer))
  ])
)

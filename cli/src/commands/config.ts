/** `config`: system-wide configuration, JSON values by key (the SystemConfig service). */
import { Command } from "effect/cli"
import { SystemConfig } from "../library.ts"
import { commandConfigGet } from "./config/get.ts"
import { commandConfigList } from "./config/list.ts"
import { commandConfigSet } from "./config/set.ts"
import { commandConfigUnset } from "./config/unset.ts"

export const commandConfig = Command.make("config").pipe(
  Command.withDescription("Read and change the system configuration: JSON values stored by key."),
  Command.withShortDescription("Manage system configuration."),
  // Each command gets its services, not the group: `control-plane <group>` alone shows help without any configuration.
  Command.withSubcommands([
    commandConfigGet.pipe(Command.provide(SystemConfig.layer)),
    commandConfigSet.pipe(Command.provide(SystemConfig.layer)),
    commandConfigUnset.pipe(Command.provide(SystemConfig.layer)),
    commandConfigList.pipe(Command.provide(SystemConfig.layer))
  ])
)

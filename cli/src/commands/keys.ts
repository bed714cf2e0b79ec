/** `keys`: the encryption key ring and rotation of connection strings. */
import { Command } from "effect/cli"
import { TenantDatabases } from "../library.ts"
import { commandKeysAdd } from "./keys/add.ts"
import { commandKeysRotate } from "./keys/rotate.ts"
import { commandKeysStatus } from "./keys/status.ts"

export const commandKeys = Command.make("keys").pipe(
  Command.withDescription(
    "Make keys and rotate the encryption of stored connection strings. Keys come from CONTROL_PLANE_ENCRYPTION_KEYS (comma-separated id:base64, e.g. from `openssl rand -base64 32`) and CONTROL_PLANE_PRIMARY_KEY_ID."
  ),
  Command.withShortDescription("Manage encryption keys."),
  // Each command gets its services, not the group: `control-plane <group>` alone shows help without any configuration.
  Command.withSubcommands([
    commandKeysAdd,
    commandKeysRotate.pipe(Command.provide(TenantDatabases.layer)),
    commandKeysStatus.pipe(Command.provide(TenantDatabases.layer))
  ])
)

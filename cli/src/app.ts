/**
 * The `control-plane` command tree. Each group lives in commands/<group>.ts and
 * each command in commands/<group>/<command>.ts.
 *
 * A flag every command takes (such as an `--actor`) is a `GlobalFlag.Setting`
 * added here with `Command.withGlobalFlags([...])`; commands read it as a
 * service. A new error type a command can fail with needs its case in
 * failure.ts's `cliFailureOf` (the compiler asks for it).
 */
import { Command } from "effect/cli"
import { ActorFlag, actorLayer, ReasonFlag } from "./actor.ts"
import { commandAudit } from "./commands/audit.ts"
import { commandConfig } from "./commands/config.ts"
import { commandDatabases } from "./commands/databases.ts"
import { commandDb } from "./commands/db.ts"
import { commandFleet } from "./commands/fleet.ts"
import { commandKeys } from "./commands/keys.ts"
import { commandServers } from "./commands/servers.ts"
import { commandTenants } from "./commands/tenants.ts"

export const commandRoot = Command.make("control-plane").pipe(
  Command.withDescription(
    "Operate the control plane of a database-per-tenant SaaS: tenants, their databases, the servers they are provisioned on, fleet migrations, system configuration, encryption keys, the audit trail and the schema. Reads DATABASE_URL, CONTROL_PLANE_ENCRYPTION_KEYS and CONTROL_PLANE_PRIMARY_KEY_ID from the environment."
  ),
  Command.withSubcommands([
    commandTenants,
    commandDatabases,
    commandServers,
    commandFleet,
    commandConfig,
    commandKeys,
    commandAudit,
    commandDb
  ]),
  // Every command runs as an Actor (--actor, else the OS user), recorded by the audit trail for what it changes.
  Command.provide(actorLayer),
  Command.withGlobalFlags([ActorFlag, ReasonFlag])
)

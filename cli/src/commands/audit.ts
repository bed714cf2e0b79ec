/** `audit`: the audit trail of every change and reveal (the AuditTrail service). */
import { Layer } from "effect"
import { Command } from "effect/cli"
import { AuditTrail } from "../library.ts"
import { Tenants } from "../library.ts"
import { commandAuditList } from "./audit/list.ts"
import { commandAuditPurge } from "./audit/purge.ts"
import { commandAuditVerify } from "./audit/verify.ts"

/**
 * Provided to each command rather than to the group, so that the bare group
 * (`control-plane audit`, which shows help) needs no configuration. Tenants
 * resolves --tenant by name; both share one Db pool (same layer).
 */
const services = Layer.merge(AuditTrail.layer, Tenants.layer)

export const commandAudit = Command.make("audit").pipe(
  Command.withDescription(
    "Read and check the audit trail: every change to tenants, their databases and the configuration, every reveal of a connection string and every key rotation, with who did it, hash-chained so that tampering shows."
  ),
  Command.withShortDescription("Inspect and verify the audit trail."),
  Command.withSubcommands([
    commandAuditList.pipe(Command.provide(services)),
    commandAuditVerify.pipe(Command.provide(services)),
    commandAuditPurge.pipe(Command.provide(services))
  ])
)

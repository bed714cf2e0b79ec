/**
 * Turns the database's lifecycle refusals (DbError reasons TransitionRefused,
 * ActivationRefused, SystemTenantRefused; see src/db/pgErrors.ts) into the
 * domain errors the services promise. Each method maps once, at its boundary,
 * with the mapper for the refusals it can meet.
 */
import { DbError } from "../domain/errors.ts"
import { IllegalTransition, SystemTenantProtected } from "../domain/Lifecycle.ts"
import { NoActiveDatabase } from "../domain/Tenant.ts"

const reasonOf = (error: unknown) => (error instanceof DbError ? error.reason : undefined)

/** LC001: a status move the transition table does not allow. */
export const transitionRefusal = <E>(error: E): E | IllegalTransition => {
  const reason = reasonOf(error)
  if (reason?._tag !== "TransitionRefused") return error
  const { _tag, name, ...fields } = reason
  return new IllegalTransition({ ...fields, ...(name === undefined ? {} : { entityName: name }) })
}

/** LC003: a rename, status change or delete of system_admin. */
export const systemTenantRefusal = <E>(error: E): E | SystemTenantProtected => {
  const reason = reasonOf(error)
  if (reason?._tag !== "SystemTenantRefused") return error
  const { _tag, ...fields } = reason
  return new SystemTenantProtected(fields)
}

/** Every refusal of a tenant status change: LC001, LC002 (no active database), LC003. */
export const tenantStatusRefusal = <E>(error: E): E | IllegalTransition | NoActiveDatabase | SystemTenantProtected => {
  const reason = reasonOf(error)
  if (reason?._tag === "ActivationRefused") {
    const { tenantId, name } = reason
    return new NoActiveDatabase({ tenantId, ...(name === undefined ? {} : { tenantName: name }) })
  }
  return systemTenantRefusal(transitionRefusal(error))
}

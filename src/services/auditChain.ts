/**
 * The canonical form of an audit event and its hash, as the verifier sees it.
 *
 *   hash = sha256(prev_hash || utf8(content))
 *   content = "cp-audit-v1" followed by each field below, in this order, as a
 *             netstring of its text ("<bytes>:<text>,") or "-" when NULL
 *
 * Each field's text is PostgreSQL's own text form of the stored value (the
 * time as integer microseconds since the epoch, `changes` as jsonb's
 * normalised text), so that PostgreSQL's builtin sha256 and any program that
 * reads those texts compute the same bytes; `eventHash` is the TypeScript
 * side. The append trigger (routines.hcl, audit_events_append) writes the same
 * form: a test keeps the three in step. `verifySql` checks the chain with the
 * expression built here, not with any function stored in the database, so a
 * replaced trigger function cannot vouch for itself.
 */
import { createHash } from "node:crypto"
import { sql } from "../db/Db.ts"
import type { SQLQuery } from "../db/Db.ts"

/** Bumped if the canonical form ever changes (events keep the version they were hashed with in mind). */
export const canonicalVersion = "cp-audit-v1"

/** The hash before the first event ever: 32 zero bytes. */
export const genesisHash = new Uint8Array(32)

/** The hashed fields, in order, each with the SQL giving its canonical text from an audit_events row. */
export const canonicalFields = [
  { name: "id", text: "id::text" },
  { name: "occurredUs", text: "(extract(epoch FROM occurred_at) * 1000000)::bigint::text" },
  { name: "actor", text: "actor" },
  { name: "dbRole", text: "db_role" },
  { name: "action", text: "action" },
  { name: "entityType", text: "entity_type" },
  { name: "entityId", text: "entity_id" },
  { name: "tenantId", text: "tenant_id::text" },
  { name: "changes", text: "changes::text" },
  { name: "reason", text: "reason" }
] as const

export type CanonicalField = (typeof canonicalFields)[number]["name"]

/** An event's fields as their canonical texts (what `canonicalTextsSql` selects). */
export type CanonicalTexts = { readonly [K in CanonicalField]: string | null }

const netstring = (text: string | null): string => (text === null ? "-" : `${Buffer.byteLength(text, "utf8")}:${text},`)

/** The canonical content of an event. */
export const canonicalContent = (texts: CanonicalTexts): string =>
  canonicalVersion + canonicalFields.map((field) => netstring(texts[field.name])).join("")

/** sha256(prevHash || utf8(canonical content)): what the append trigger stores as `hash`. */
export const eventHash = (prevHash: Uint8Array, texts: CanonicalTexts): Uint8Array =>
  createHash("sha256").update(prevHash).update(canonicalContent(texts), "utf8").digest()

// The field expressions are constants of this module, never input.
const raw = (text: string): SQLQuery => sql.__dangerous__rawValue(text)

/** SELECT list of an event's canonical texts, named as CanonicalTexts, for recomputing a hash outside the database. */
export const canonicalTextsSql: SQLQuery = raw(
  canonicalFields.map((field) => `${field.text} AS "${field.name}"`).join(", ")
)

/** The SQL expression recomputing an audit_events row's hash, with PostgreSQL's builtin sha256. */
export const hashSql: SQLQuery = raw(
  `pg_catalog.sha256(prev_hash || pg_catalog.convert_to('${canonicalVersion}' || ` +
    canonicalFields.map((field) => `coalesce(octet_length(${field.text}) || ':' || ${field.text} || ',', '-')`).join(" || ") +
    `, 'UTF8'))`
)

/** A row of `verifySql`: the first event where the chain breaks (none when it holds). */
export interface ChainBreakRow {
  readonly id: bigint
  readonly previous_id: bigint | null
  readonly expected_id: bigint
  readonly problem: "altered" | "unlinked" | "missing"
}

/**
 * The first event, in chain order, that breaks the chain: its id is not the
 * one expected (the previous event's + 1, or for the first event kept, the
 * latest purge's first_kept_id), its content does not match its hash, or its
 * prev_hash is not the previous event's hash (or the latest purge's anchor).
 * One pass in id order with a window function, the recomputation in SQL:
 * nothing but the answer crosses the network.
 */
export const verifySql: SQLQuery = sql`
  WITH checkpoint AS (
    SELECT (changes ->> 'first_kept_id')::bigint AS first_id, decode(changes ->> 'anchor_hash', 'hex') AS anchor
    FROM control_plane.audit_events WHERE action = 'purge' ORDER BY id DESC LIMIT 1
  ), start AS (
    SELECT coalesce((SELECT first_id FROM checkpoint), 1) AS first_id,
           coalesce((SELECT anchor FROM checkpoint), decode(repeat('00', 32), 'hex')) AS anchor
  ), chain AS (
    SELECT id, hash, prev_hash, lag(id) OVER w AS previous_id, lag(hash) OVER w AS previous_hash,
           ${hashSql} AS recomputed
    FROM control_plane.audit_events
    WINDOW w AS (ORDER BY id)
  )
  SELECT chain.id, chain.previous_id, coalesce(chain.previous_id + 1, start.first_id) AS expected_id,
         CASE WHEN chain.id <> coalesce(chain.previous_id + 1, start.first_id) THEN 'missing'
              WHEN chain.recomputed <> chain.hash THEN 'altered'
              ELSE 'unlinked' END AS problem
  FROM chain, start
  WHERE chain.id <> coalesce(chain.previous_id + 1, start.first_id)
     OR chain.recomputed <> chain.hash
     OR chain.prev_hash <> coalesce(chain.previous_hash, start.anchor)
  ORDER BY chain.id
  LIMIT 1`

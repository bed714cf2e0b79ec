/**
 * `db migrate` and `db apply` never print DATABASE_URL's password, even for
 * a URL that Node accepts and the engine (Go) cannot parse; and the last
 * guard of every error line, redactSecrets.
 */
import { describe, expect, it } from "vitest"
import { redactSecrets } from "../../cli/src/redact.ts"
import { expectOneErrorLine } from "../cli/harness.ts"
import { dbCli } from "../support/schemaTools.ts"

const password = "Sup3r-s3cret%zz"
// A password with a stray `%`: Node's URL accepts it, Go's refuses it.
const badUrl = `postgres://someone:${password}@127.0.0.1:5432/control_plane`

describe("schema commands and secrets", () => {
  for (const name of ["migrate", "apply"]) {
    it(`db ${name} fails on a URL the engine cannot parse, in one line, without printing its password`, async () => {
      // The harness fails the test if any output holds the URL or the password (checked as booleans).
      const outcome = await dbCli({ DATABASE_URL: badUrl }, [badUrl, "Sup3r-s3cret"]).run(["db", name])
      expectOneErrorLine(outcome, 1, /connection string is not a valid/)
    })
  }

  it("redactSecrets masks URLs and the configured passwords, decoded or not", () => {
    const env = { DATABASE_URL: "postgres://u:p%40ssw0rd@db/x", CONTROL_PLANE_ADMIN_URL: "postgres://a:adminpw@h/postgres" }
    expect(redactSecrets(`parse "postgres://u:p%40ssw0rd@db/x?sslmode=disable": bad`, env)).toBe(`parse "<redacted>": bad`)
    expect(redactSecrets("auth failed for p@ssw0rd and p%40ssw0rd and adminpw", env)).toBe(
      "auth failed for <redacted> and <redacted> and <redacted>"
    )
    expect(redactSecrets("nothing secret here", {})).toBe("nothing secret here")
  })

  it("redactSecrets also masks password= pairs and the key material of the key ring, not its ids", () => {
    const key = "q9Vx2mT4bA7cK1eR8sJ0uW3yZ6hN5pL2dF4gH7jK9mA="
    const env = { CONTROL_PLANE_ENCRYPTION_KEYS: `k1:${key}` }
    expect(redactSecrets(`host=db password='s3cr\\'et pw' user=app`, env)).toBe("host=db password=<redacted> user=app")
    expect(redactSecrets(`key k1 is ${key}`, env)).toBe("key k1 is <redacted>")
  })
})

/**
 * Where the schema project of this checkout is: the repository root, which
 * holds atlas.hcl, schema.hcl, routines.hcl, seeds/, migrations/ and .bin/.
 *
 * It is found from where this code runs, never by searching upwards (which
 * could take a user's own atlas.hcl for ours):
 *   - the TypeScript sources: this file is cli/src/schema/paths.ts, two
 *     folders below the CLI package (cli/), three below the root;
 *   - the bundle (cli/build.ts, which defines CONTROL_PLANE_BUNDLED): every
 *     module is a file directly in cli/dist/ (entry points and chunks alike,
 *     which the build checks), one folder below the CLI package, two below
 *     the root. Installed from the CLI's package, the bundle is in
 *     node_modules/control-plane-cli/dist/, so the "root" is node_modules/,
 *     which holds no schema project: the db commands then say they need a
 *     clone (commands/db.ts).
 */
import { fileURLToPath } from "node:url"
import path from "node:path"

/** `true` in the bundle (an esbuild define of cli/build.ts); undeclared, so undefined, in the sources. */
declare const CONTROL_PLANE_BUNDLED: boolean | undefined

const bundled = typeof CONTROL_PLANE_BUNDLED === "boolean" && CONTROL_PLANE_BUNDLED

/** From the module this code runs in to the CLI package's folder. */
const packageFromHere = bundled ? "../" : "../../"

/** The CLI package's folder: cli/ of the checkout, or where the package is installed. */
export const cliPackageRoot = fileURLToPath(new URL(packageFromHere, import.meta.url))

/** The repository root (see above). */
export const projectRoot = fileURLToPath(new URL(`${packageFromHere}../`, import.meta.url))

/** An absolute path to a file of the project, given relative to its root. */
export const projectFile = (relative: string): string => path.join(projectRoot, relative)

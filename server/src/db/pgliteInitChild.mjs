// Creates a new embedded database folder (initdb) in a process of its own, then exits.
//
// Why a process: PGlite's initdb runs a second, temporary Postgres (and initdb's own WASM
// module) next to the real one, and something inside PGlite keeps both reachable after
// they finish, so a service that created its database kept ~500 MB it never used again
// (838 MB resident at the first start against 340 MB at every later one). Here that memory
// goes back to the system when this process exits. Plain JavaScript run without a loader,
// forked by path (from src/ under tsx and from dist/ after the build).
import { PGlite } from "@electric-sql/pglite";

const [directory, settingsJson] = process.argv.slice(2);
const startParams = [...PGlite.defaultStartParams, ...JSON.parse(settingsJson).flatMap((setting) => ["-c", setting])];
const pglite = new PGlite(directory, { startParams });
await pglite.waitReady;
await pglite.close();

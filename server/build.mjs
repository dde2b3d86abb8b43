// Builds the service into server/dist/ (run by `npm install` through the root package's
// `prepare`, and by `npm run build`), so that `npm start` is one plain `node` process: no
// TypeScript loader wrapper, no esbuild service beside it (~90 MB less than tsx).
//
// One ES module bundle of server/src and the workspace's shared/ (TypeScript source);
// every npm package stays an import from node_modules, as PGlite finds its .wasm and data
// files next to its own module. The plain-JavaScript child processes the service forks by
// path are copied beside the bundle, where import.meta.url finds them.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const serverDir = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(serverDir, "dist");
const CHILD_SCRIPTS = ["git/processHostChild.mjs", "db/pgliteInitChild.mjs"];

const npmPackagesExternal = {
  name: "npm-packages-external",
  setup(builder) {
    // Bare imports but the workspace's own packages (@clarive/*, TypeScript source) stay imports.
    builder.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith("@clarive/") ? undefined : { path: args.path, external: true },
    );
  },
};

// Files are replaced in place, the folder never removed: a service started from it meanwhile
// (a test, a bench) still finds the child scripts it forks by path.
fs.mkdirSync(outDir, { recursive: true });
await build({
  entryPoints: [path.join(serverDir, "src/main.ts")],
  outfile: path.join(outDir, "main.js"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
  plugins: [npmPackagesExternal],
});
for (const script of CHILD_SCRIPTS) fs.copyFileSync(path.join(serverDir, "src", script), path.join(outDir, path.basename(script)));

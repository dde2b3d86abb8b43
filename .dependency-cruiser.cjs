// dependency-cruiser: the import rules that keep the layers apart (`npm run lint:deps`, part of `npm run lint`).
//
// The server's layers, from the edge inwards:
//   http, routes, git, middleware       (Koa: requests and answers)
//   services  |  gitAccess              (use cases; gitAccess is the git auth decision beside services)
//   policies                            (pure rules: errors, shared, the types modules only)
//   repositories, db                    (the only code that talks to Knex)
//   lib, config, errors, shared         (leaves)
// Nothing imports a layer above its own; no import cycles anywhere.
const SERVER = "^server/src/";

/** @type {import("dependency-cruiser").IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "An import cycle: modules that cannot be understood, tested or initialised one without the other. Break it.",
      from: {},
      to: { circular: true },
    },
    {
      name: "repositories-not-upward",
      severity: "error",
      comment: "Repositories are the bottom data layer: they must not import services, gitAccess, policies or the HTTP/git edge.",
      from: { path: `${SERVER}repositories/` },
      to: {
        path: `${SERVER}(services|gitAccess|policies|routes|http|middleware|git|presenters|schemas)/|${SERVER}(app|server|main)\\.ts$`,
      },
    },
    {
      name: "db-not-upward",
      severity: "error",
      comment: "db/ (connection, migrations, listener) sits below everything that uses it.",
      from: { path: `${SERVER}db/` },
      to: {
        path: `${SERVER}(services|gitAccess|policies|repositories|routes|http|middleware|git|presenters|schemas)/|${SERVER}(app|server|main)\\.ts$`,
      },
    },
    {
      name: "services-not-upward",
      severity: "error",
      comment: "Services are called by routes and http; they must not reach back into the HTTP/git edge.",
      from: { path: `${SERVER}services/` },
      to: { path: `${SERVER}(routes|http|middleware|git|presenters|schemas)/|${SERVER}(app|server|main)\\.ts$` },
    },
    {
      name: "gitAccess-not-upward",
      severity: "error",
      comment:
        "gitAccess/ is a layer beside services (it may use repositories, policies, lib, db, config, errors, shared); " +
        "routes, http and git call it, never the other way round.",
      from: { path: `${SERVER}gitAccess/` },
      to: { path: `${SERVER}(routes|http|middleware|git|presenters|schemas)/|${SERVER}(app|server|main)\\.ts$` },
    },
    {
      name: "policies-are-pure",
      severity: "error",
      comment: "policies/ are pure decisions: from the server they import only errors and the types modules (and shared).",
      from: { path: `${SERVER}policies/` },
      to: { path: SERVER, pathNot: `${SERVER}(policies/|errors\\.ts$|services/types\\.ts$|repositories/types\\.ts$)` },
    },
    {
      name: "lib-is-a-leaf",
      severity: "error",
      comment: "lib/ holds general helpers: it imports nothing from the server but lib/ itself.",
      from: { path: `${SERVER}lib/` },
      to: { path: SERVER, pathNot: `${SERVER}lib/` },
    },
    {
      name: "knex-only-in-data-layer",
      severity: "error",
      comment:
        "Only server/src/repositories/ and server/src/db/ use Knex; elsewhere in the server only `import type { Knex }` " +
        "(to pass a connection or transaction along) is allowed. dependency-cruiser counts `import knex, { type Knex }` " +
        "as type-only, so ESLint's no-restricted-imports (eslint.config.mjs) checks the same rule per import.",
      from: { path: SERVER, pathNot: `${SERVER}(repositories|db)/` },
      to: { path: "(^|/)node_modules/(knex|knex-pglite)/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "shared-is-standalone",
      severity: "error",
      comment: "shared/ is used by the server and the extension; it must not import either.",
      from: { path: "^shared/src/" },
      to: { path: "^(server|extension)/|^(test|bench)/" },
    },
    {
      name: "extension-not-to-server",
      severity: "error",
      comment: "The extension talks to the server over HTTP only; it shares code through shared/.",
      from: { path: "^extension/src/" },
      to: { path: "^server/|^(test|bench)/" },
    },
    {
      name: "server-not-to-extension",
      severity: "error",
      comment: "The server shares code with the extension through shared/ only.",
      from: { path: "^server/src/" },
      to: { path: "^extension/|^(test|bench)/" },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      comment: "An import that resolves to no file (a typo, or a package missing from package.json).",
      from: {},
      // "vscode" is provided by the editor at run time; only its types (@types/vscode) are installed.
      to: { couldNotResolve: true, pathNot: "^vscode$" },
    },
  ],
  options: {
    doNotFollow: { path: "(^|/)node_modules/" },
    exclude: { path: "(^|/)(dist|out|\\.vscode-test)/" },
    // Keep type-only imports in the graph (labelled "type-only") so the Knex rule can tell them apart.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
      extensions: [".ts", ".mts", ".cts", ".js", ".mjs", ".cjs", ".json", ".d.ts"],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};

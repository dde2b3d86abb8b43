// ESLint: rules that catch real bugs, with full type information for the TypeScript code.
// Formatting is Prettier's job (`npm run format`); eslint-config-prettier, last, turns off every
// stylistic rule that could disagree with it. Import layering and cycles are checked by
// dependency-cruiser (.dependency-cruiser.cjs), not here.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import { defineConfig, globalIgnores } from "eslint/config";
import globals from "globals";
import tseslint from "typescript-eslint";

export default defineConfig(
  globalIgnores(["**/node_modules/", "**/dist/", "**/out/", ".vscode-test/", ".bench/", "data/", "coverage/", "extension/media/"]),

  {
    files: ["**/*.{ts,mts,cts}"],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      // Every TypeScript folder is in the root tsconfig.json; the project service finds it.
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // The bug catchers, stated explicitly so that a change of preset cannot drop them.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          // `_name` marks a parameter or binding that is unused on purpose (a callback's
          // signature, a destructured field left out of a rest object).
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          caughtErrorsIgnorePattern: "^_",
          destructuredArrayIgnorePattern: "^_",
          ignoreRestSiblings: true,
        },
      ],
      // Noise here: an `async` function without `await` is how this codebase implements a
      // Promise-returning interface (test fakes, in-memory stores) so that a throw becomes a
      // rejection; the bug this rule aims at (a missing await) is caught by no-floating-promises.
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: true }],
      "@typescript-eslint/no-import-type-side-effects": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      eqeqeq: ["error", "always", { null: "ignore" }],
    },
  },

  // Knex belongs to server/src/repositories/ and server/src/db/. Elsewhere in the server a connection
  // or transaction may be passed along (`import type { Knex }`) and a service may open the unit of
  // work (`db.transaction(...)`), but not build queries. dependency-cruiser checks the imports too;
  // this catches what it cannot: `import knex, { type Knex }` (a value import beside a type) and
  // raw SQL or a query builder called on a connection handed in.
  {
    files: ["server/src/**/*.ts"],
    ignores: ["server/src/repositories/**", "server/src/db/**"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          paths: [
            { name: "knex", allowTypeImports: true, message: "Knex is used in server/src/repositories/ and server/src/db/ only." },
            { name: "knex-pglite", message: "The database connection is made in server/src/db/ only." },
          ],
        },
      ],
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[callee.property.name=/^(raw|queryBuilder|schema)$/]",
          message: "Raw SQL and query builders belong in server/src/repositories/ (or server/src/db/).",
        },
        {
          selector: "CallExpression[callee.type='Identifier'][callee.name=/^(db|knex|trx|tx)$/]",
          message: "A query on a Knex connection belongs in server/src/repositories/: call a repository function.",
        },
        {
          selector: "CallExpression[callee.type='MemberExpression'][callee.property.name=/^(db|knex|trx)$/]",
          message: "A query on a Knex connection belongs in server/src/repositories/: call a repository function.",
        },
      ],
    },
  },

  // Plain JavaScript (the git process host's child, the test-only editor extension, the config
  // files): not in any tsconfig, so linted with the non-type-aware rules only.
  {
    files: ["**/*.{js,mjs,cjs}"],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "no-unused-vars": ["error", { argsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["**/*.cjs", "test/extension/runner/**/*.js"],
    languageOptions: { sourceType: "commonjs" },
  },

  prettier,
);

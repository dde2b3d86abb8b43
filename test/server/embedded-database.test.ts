import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createDb } from "../../server/src/db";
import { TEST_DB } from "../support/testServer";

if (TEST_DB === "pglite") {
  describe("embedded database (PGlite)", () => {
    it("refuses a second opening of the same data folder, and opens again once the first is closed", async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "clarive-lock-"));
      try {
        const first = await createDb({ databaseUrl: undefined, dataDir });
        try {
          await assert.rejects(createDb({ databaseUrl: undefined, dataDir }), /in use by process \d+.*DATABASE_URL/);
        } finally {
          await first.close();
        }
        const again = await createDb({ databaseUrl: undefined, dataDir });
        await again.close();
        // A lock left by a process that is gone (killed) does not block the next start.
        fs.writeFileSync(path.join(dataDir, "pg.lock"), "999999999");
        const afterCrash = await createDb({ databaseUrl: undefined, dataDir });
        await afterCrash.close();
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}

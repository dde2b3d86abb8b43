import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import fs from "node:fs";
import { ADMIN_PASSWORD, startTestServer, type TestServer } from "../support/testServer";

/** The README's curl tour, run as written, with only the server URL and password filled in. */
describe("README tour", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it("works as written", async () => {
    const readme = fs.readFileSync("README.md", "utf8");
    const block = /<!-- tour:start -->\s*```bash\n([\s\S]*?)```\s*<!-- tour:end -->/.exec(readme)?.[1];
    assert.ok(block, "the README has a tour block");
    const script = block.replace(/^CLARIVE=.*$/m, `CLARIVE=${server.url}`).replace(/^PASSWORD=.*$/m, `PASSWORD='${ADMIN_PASSWORD}'`);
    // Asynchronously: the service runs in this very process and must keep answering.
    const { stdout: output } = await promisify(execFile)("bash", ["-euo", "pipefail", "-c", script], { encoding: "utf8" });
    const lines = output
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines[0], { patAuthEnabled: true, maxLifetimeDays: 730, pushProtection: true });
    assert.equal(lines[1]?.fullName, "acme/widgets");
    assert.match(String(lines[2]?.token), /^clapat_[0-9A-Za-z]{36}$/);
    const list = lines[3] as unknown as { hint: string; token?: string }[];
    assert.equal(list.length, 1);
    assert.equal(list[0]?.token, undefined);
  });
});

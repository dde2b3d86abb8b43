/**
 * The administrators' "All Tokens" view and its commands, and Edit Allowed IP Addresses, against
 * a real service (embedded PGlite) with a scripted UI: grouping by user, where each token was last
 * used, deactivate and remove with a modal confirmation, refusals for non-administrators.
 */
import assert from "node:assert/strict";
import type { AdminTokenDto, CreatedTokenDto, TokenDto } from "@clarive/shared";
import {
  allowedIpsProblem,
  editAllowedIps,
  loadAllTokens,
  parseAllowedIps,
  removeAnyToken,
  setAnyTokenActive,
} from "../../../extension/src/adminTokenCommands";
import { adminTreeNodes, lastUsedWhere } from "../../../extension/src/adminTokensModel";
import { signIn } from "../../../extension/src/commands/signIn";
import { tokenItemModel } from "../../../extension/src/core/tokenItems";
import { createRepository, createUser, loginAdmin, setPatAuth, type Client } from "../../support/client";
import { ADMIN_PASSWORD, startTestServer, type TestServer } from "../../support/testServer";
import { testDeps, type TestDeps } from "../support/commandDeps";
import { NOW, tokenFixture } from "../support/tokens";

describe("All Tokens (administrators) and Edit Allowed IP Addresses, against a real service", function () {
  this.timeout(120_000);
  let server: TestServer;
  let admin: Client;
  let alice: Client;

  before(async () => {
    server = await startTestServer({ env: { TRUST_PROXY: "true" } });
    admin = await loginAdmin(server);
    alice = await createUser(admin, server, "alice");
    await createUser(admin, server, "bob");
    await createRepository(admin, "acme", "widgets");
    await admin.put("/repositories/acme/widgets/members/alice", { access: "read" });
    await setPatAuth(admin, true);
  });
  after(async () => server?.close());

  async function signedIn(username: string, password: string): Promise<TestDeps> {
    const t = testDeps();
    t.ui.answer({ input: server.url }, { pick: "Username and password" }, { input: username }, { input: password });
    assert.equal(await signIn(t.deps), true);
    t.ui.assertDone();
    return t;
  }
  const newToken = async (client: Client, description: string): Promise<CreatedTokenDto> =>
    (await client.post<CreatedTokenDto>("/tokens", { description, expiresInDays: 30, permission: "read" })).body;
  const useFrom = (token: CreatedTokenDto, ip: string) =>
    fetch(`${server.url}/git/acme/widgets.git/info/refs?service=git-upload-pack`, {
      headers: { authorization: `Basic ${Buffer.from(`alice:${token.token}`).toString("base64")}`, "x-forwarded-for": ip },
    }).then((r) => r.arrayBuffer());

  it("groups every user's tokens by user and says where each was last used", async () => {
    const laptop = await newToken(alice, "alice laptop");
    await newToken(alice, "alice ci");
    await newToken(admin, "admin box");
    await useFrom(laptop, "192.0.2.44");
    const t = await signedIn("admin", ADMIN_PASSWORD);
    const client = t.deps.session.signedIn?.client;
    assert.ok(client);
    let tokens: AdminTokenDto[] = [];
    for (let i = 0; i < 50 && !tokens.some((x) => x.recentIps.length > 0); i++) {
      tokens = await loadAllTokens(client);
      await new Promise((r) => setTimeout(r, 100));
    }
    const nodes = adminTreeNodes(tokens, new Date());
    assert.deepEqual(
      nodes.map((n) => [n.username, n.description, n.tokens.map((x) => x.label)]),
      [
        ["admin", "1 token, 1 active", ["admin box"]],
        ["alice", "2 tokens, 2 active", ["alice ci", "alice laptop"]],
      ],
    );
    const row = nodes[1]?.tokens[1];
    assert.match(row?.description ?? "", /^expires in 30 days · last used from 192\.0\.2\.44, \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    assert.equal(row?.contextValue, "admin-token:active");
    assert.match(nodes[1]?.tokens[0]?.description ?? "", /never used/);
  });

  it("Deactivate and Remove ask first, act on anyone's token, and git refuses it at once", async () => {
    const victim = await newToken(alice, "alice leaked");
    const t = await signedIn("admin", ADMIN_PASSWORD);
    const client = t.deps.session.signedIn?.client;
    assert.ok(client);
    const target = (await loadAllTokens(client)).find((x) => x.id === victim.id);
    assert.ok(target);
    let refreshed = 0;
    const refresh = async () => void refreshed++;
    t.ui.answer({ message: undefined });
    assert.equal(await setAnyTokenActive(t.deps, { token: target }, false, refresh), undefined, "cancelled: nothing changes");
    assert.equal((await alice.get<TokenDto>(`/tokens/${victim.id}`)).body.active, true);
    t.ui.answer({ message: "Deactivate" });
    const updated = await setAnyTokenActive(t.deps, { token: target }, false, refresh);
    assert.equal(updated?.active, false);
    assert.equal((await alice.get<TokenDto>(`/tokens/${victim.id}`)).body.active, false);
    assert.ok(t.ui.prompts.some((p) => p.modal && p.text === `Deactivate alice's token "alice leaked"?`));
    assert.equal((await setAnyTokenActive(t.deps, target, true, refresh))?.active, true, "activate needs no confirmation");
    t.ui.answer({ message: "Remove" });
    assert.equal(await removeAnyToken(t.deps, target, refresh), true);
    assert.equal((await alice.get(`/tokens/${victim.id}`)).status, 404);
    assert.equal(refreshed, 3);
    t.ui.assertDone();
  });

  it("a non-administrator is told so and nothing changes", async () => {
    const kept = await newToken(alice, "alice kept");
    const t = await signedIn("bob", "bob-password");
    const asAdmin = (await admin.get<{ items: AdminTokenDto[] }>("/admin/tokens?username=alice")).body.items.find((x) => x.id === kept.id);
    assert.ok(asAdmin);
    assert.equal(await removeAnyToken(t.deps, asAdmin, async () => undefined), false);
    assert.match(t.ui.messages("warning").join("\n"), /Only Clarive administrators/);
    assert.equal((await alice.get(`/tokens/${kept.id}`)).status, 200);
  });

  it("Edit Allowed IP Addresses sets, shows and clears a token's allow-list; the server names an entry it refuses", async () => {
    const t = await signedIn("alice", "alice-password");
    // As the Tokens tree passes it: the token without its secret.
    const { token: secret, ...token } = await newToken(alice, "alice pinned");
    assert.ok(secret);
    t.ui.answer({ input: "192.0.2.0/24, 2001:DB8::/32" });
    const pinned = await editAllowedIps(t.deps, token);
    assert.deepEqual(pinned?.allowedIps, ["192.0.2.0/24", "2001:db8::/32"]);
    assert.match(t.ui.messages("info").at(-1) ?? "", /can now be used only from 192\.0\.2\.0\/24, 2001:db8::\/32/);
    t.ui.answer({ input: "10.0.0.0/33" });
    assert.ok(pinned);
    assert.equal(await editAllowedIps(t.deps, pinned), undefined);
    assert.match(t.ui.messages("error").at(-1) ?? "", /"10\.0\.0\.0\/33"/);
    t.ui.answer({ input: "" });
    assert.deepEqual((await editAllowedIps(t.deps, pinned))?.allowedIps, []);
    assert.equal(
      t.ui.prompts.filter((p) => p.kind === "input").at(-1)?.value,
      "192.0.2.0/24, 2001:db8::/32",
      "the form shows the current list",
    );
    t.ui.assertDone();
  });

  it("checks entries as typed and parses commas or spaces", () => {
    assert.deepEqual(parseAllowedIps(" 192.0.2.1, 10.0.0.0/8  2001:db8::1 "), ["192.0.2.1", "10.0.0.0/8", "2001:db8::1"]);
    assert.equal(allowedIpsProblem(""), undefined);
    assert.match(allowedIpsProblem("192.0.2.1, localhost") ?? "", /"localhost"/);
    assert.match(allowedIpsProblem(Array.from({ length: 21 }, (_, i) => `10.0.0.${i}`).join(",")) ?? "", /At most 20/);
  });

  it("token rows of the Tokens tree show where the token was used and where it may be used from", () => {
    const token = tokenFixture({
      recentIps: [
        { ip: "192.0.2.7", lastUsedAt: "2026-06-14T10:00:00.000Z" },
        { ip: "2001:db8::1", lastUsedAt: "2026-06-13T09:00:00.000Z" },
      ],
      allowedIps: ["192.0.2.0/24"],
    });
    const rows = tokenItemModel(token, 7, NOW).details.map((d) => `${d.label}: ${d.description}`);
    assert.ok(rows.includes("Used from: 192.0.2.7 (2026-06-14 10:00 UTC), 2001:db8::1 (2026-06-13 09:00 UTC)"), rows.join("\n"));
    assert.ok(rows.includes("Allowed from: 192.0.2.0/24"));
    assert.equal(lastUsedWhere({ ...token, username: "alice", exceedsPolicy: false }), "last used from 192.0.2.7, 2026-06-14 10:00 UTC");
  });
});

import assert from "node:assert/strict";
import { treeNodes } from "../../../extension/src/core/treeModel";
import { contextValueOf, scopeLabel, sortTokens, tokenItemModel, tooltipOf } from "../../../extension/src/core/tokenItems";
import { NOW, tokenFixture } from "../support/tokens";

describe("token tree items", () => {
  it("labels an active token with its description, then expiry first (what a narrow sidebar keeps), permission and scope", () => {
    const item = tokenItemModel(tokenFixture({ id: 7 }, 30), 7, NOW);
    assert.equal(item.id, "token-7");
    assert.equal(item.label, "laptop");
    assert.equal(item.description, "expires in 30 days · read & write · acme/widgets");
    assert.equal(item.contextValue, "token:active");
    assert.equal(item.icon, "key");
    assert.equal(item.iconColor, undefined);
    assert.equal(item.status, "active");
    assert.equal(item.dimmed, false);
    assert.equal(item.expanded, false);
  });

  it("marks a token under the warning days by shape (a warning icon) and a colour every theme defines, with the words in the tooltip", () => {
    const item = tokenItemModel(tokenFixture({ permission: "read" }, 3), 7, NOW);
    assert.equal(item.icon, "warning");
    assert.equal(item.expiry, "warning");
    assert.equal(item.iconColor, "problemsWarningIcon.foreground");
    assert.equal(item.status, "active, expires soon");
    assert.match(item.tooltip, /^Status: active, expires soon$/m);
    assert.match(item.description, /^expires in 3 days · read-only · acme\/widgets$/);
  });

  it("expands to its details: permission, repositories, expiry date, last used when and from where", () => {
    const token = tokenFixture(
      { repositories: ["acme/widgets", "acme/gears"], lastUsedAt: "2026-06-14T10:00:00.000Z", lastUsedIp: "10.0.0.7" },
      30,
    );
    const rows = tokenItemModel(token, 7, NOW).details.map((d) => `${d.label}: ${d.description}`);
    assert.deepEqual(rows, [
      "Permission: read & write",
      "Repositories: acme/widgets, acme/gears",
      "Expires: 2026-07-15 12:00 UTC (expires in 30 days)",
      "Last used: 2026-06-14 10:00 UTC from 10.0.0.7",
      "Token: clapat_…Xy9Q",
    ]);
    const rotated = tokenItemModel(tokenFixture({ rotatedAt: "2026-06-10T09:00:00.000Z" }), 7, NOW).details;
    assert.ok(rotated.some((d) => d.label === "Rotated" && d.description === "2026-06-10 09:00 UTC"));
  });

  it("puts a warning row first, expanded, when a rotated-out secret was used", () => {
    const item = tokenItemModel(tokenFixture({ reuseDetectedAt: "2026-06-14T18:30:00.000Z" }), 7, NOW);
    assert.equal(item.icon, "warning");
    assert.equal(item.iconColor, "problemsErrorIcon.foreground");
    assert.equal(item.expanded, true);
    assert.match(item.description, /^leaked\? · /);
    const [first] = item.details;
    assert.equal(first?.label, "Possibly leaked: rotate again");
    assert.equal(first?.description, "an old secret was used 2026-06-14 18:30 UTC");
    assert.equal(first?.command, "clarive.rotateToken");
  });

  it("dims inactive tokens and says so", () => {
    const item = tokenItemModel(tokenFixture({ active: false }), 7, NOW);
    assert.equal(item.contextValue, "token:inactive");
    assert.equal(item.dimmed, true);
    assert.equal(item.icon, "circle-slash");
    assert.equal(item.iconColor, "disabledForeground");
    assert.match(item.description, /^inactive · /);
  });

  it("shows expired tokens as expired, whether inactive or not", () => {
    for (const token of [tokenFixture({ expired: true }, -2), tokenFixture({ active: false }, -2)]) {
      const item = tokenItemModel(token, 7, NOW);
      assert.equal(item.contextValue, "token:expired");
      assert.equal(item.icon, "error");
      assert.equal(item.iconColor, "problemsErrorIcon.foreground");
      assert.equal(item.dimmed, true);
      assert.match(item.description, /^expired 2 days ago · /);
    }
  });

  it("names the scope: all repositories, one, or the first and how many more", () => {
    assert.equal(scopeLabel({ allRepositories: true, repositories: [] }), "all repositories");
    assert.equal(scopeLabel({ allRepositories: false, repositories: ["a/b"] }), "a/b");
    assert.equal(scopeLabel({ allRepositories: false, repositories: ["a/b", "a/c", "d/e"] }), "a/b +2");
  });

  it("puts every field in the tooltip: hint, permission, scope, status, expiry, created, last used and from where", () => {
    const tooltip = tooltipOf(
      tokenFixture({ repositories: ["acme/widgets", "acme/gears"], lastUsedAt: "2026-06-14T10:00:00.000Z", lastUsedIp: "10.0.0.7" }),
      NOW,
    );
    for (const line of [
      "laptop",
      "Token: clapat_…Xy9Q",
      "Permission: read & write",
      "Repositories: acme/widgets, acme/gears",
      "Status: active",
      "Expires: 2026-07-15 12:00 UTC (expires in 30 days)",
      "Created: 2026-06-01 08:30 UTC",
      "Last used: 2026-06-14 10:00 UTC from 10.0.0.7",
    ]) {
      assert.ok(tooltip.split("\n").includes(line), `tooltip lacks "${line}":\n${tooltip}`);
    }
    assert.match(tooltipOf(tokenFixture(), NOW), /Last used: never/);
  });

  it("sorts active, then inactive, then expired, soonest expiry first", () => {
    const sorted = sortTokens(
      [
        tokenFixture({ id: 1, description: "expired" }, -1),
        tokenFixture({ id: 2, description: "inactive", active: false }, 10),
        tokenFixture({ id: 3, description: "active later" }, 90),
        tokenFixture({ id: 4, description: "active sooner" }, 20),
      ],
      NOW,
    );
    assert.deepEqual(
      sorted.map((t) => t.description),
      ["active sooner", "active later", "inactive", "expired"],
    );
  });

  it("takes the context value from the expiry date even when the list is stale", () => {
    assert.equal(
      contextValueOf({ active: true, expired: false, expiresAt: new Date(NOW.getTime() - 1).toISOString() }, NOW),
      "token:expired",
    );
  });
});

describe("tokens tree states", () => {
  it("is empty when signed out, so the welcome view shows", () => {
    assert.deepEqual(treeNodes({ kind: "signed-out" }, 7, NOW), []);
  });

  it("shows one error item that retries on click when the server fails", () => {
    const nodes = treeNodes({ kind: "error", message: "Cannot reach the Clarive server at http://x: ECONNREFUSED" }, 7, NOW);
    assert.equal(nodes.length, 1);
    const [node] = nodes;
    assert.ok(node && node.kind === "message");
    assert.equal(node.label, "Could not load tokens");
    assert.match(node.description, /ECONNREFUSED/);
    assert.equal(node.command, "clarive.refreshTokens");
    assert.equal(node.icon, "error");
  });

  it("offers Create Token when there is none, and lists tokens sorted otherwise", () => {
    const [empty] = treeNodes({ kind: "loaded", tokens: [] }, 7, NOW);
    assert.ok(empty && empty.kind === "message" && empty.command === "clarive.createToken");
    const nodes = treeNodes({ kind: "loaded", tokens: [tokenFixture({ id: 1 }, 90), tokenFixture({ id: 2 }, 10)] }, 7, NOW);
    assert.deepEqual(
      nodes.map((n) => (n.kind === "token" ? n.token.id : 0)),
      [2, 1],
    );
  });
});

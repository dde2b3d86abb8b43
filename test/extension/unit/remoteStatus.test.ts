import assert from "node:assert/strict";
import { checksum, PAT_PREFIX, secretHint } from "@clarive/shared";
import { pushRemote, remoteStatus, type RemoteStatusInput } from "../../../extension/src/core/remoteStatus";
import { NOW, tokenFixture } from "../support/tokens";

const SERVER = "http://127.0.0.1:8080";
const URL_ = `${SERVER}/git/acme/widgets.git`;
const secretFor = (random: string) => `${PAT_PREFIX}${random}${checksum(random)}`;
const SECRET = secretFor("statusbartoken0123456789abcdef");
const listed = (overrides: Parameters<typeof tokenFixture>[0] = {}, days = 30) =>
  tokenFixture({ id: 5, description: "laptop", hint: secretHint(SECRET), ...overrides }, days);

function input(overrides: Partial<RemoteStatusInput> = {}): RemoteStatusInput {
  return {
    remote: { name: "origin", url: URL_ },
    serverUrl: SERVER,
    stored: { secret: SECRET, tokenId: 5 },
    tokens: [listed()],
    warningDays: 7,
    now: NOW,
    ...overrides,
  };
}

describe("status bar: the token git uses for the workspace remote", () => {
  it("names the token and the days left, with the expiry date in the tooltip", () => {
    const status = remoteStatus(input());
    assert.equal(status?.text, "$(key) laptop · 30 days");
    assert.equal(status?.severity, "ok");
    assert.match(
      status?.tooltip ?? "",
      /^git uses "laptop" \(clapat_…\w{4}\) for "origin" \(acme\/widgets\), from VS Code's secret storage\. Expires 2026-07-15 12:00 UTC/,
    );
    assert.deepEqual(status?.fixes, ["rotate", "configure"]);
  });

  it("warns under 7 days and offers Rotate first; an inactive, expired or removed token is an error with its fix", () => {
    const soon = remoteStatus(input({ tokens: [listed({}, 3)] }));
    assert.equal(soon?.text, "$(warning) laptop · 3 days");
    assert.equal(soon?.severity, "warning");
    assert.equal(soon?.fixes[0], "rotate");
    const inactive = remoteStatus(input({ tokens: [listed({ active: false })] }));
    assert.equal(inactive?.text, "$(error) laptop: inactive");
    assert.deepEqual(inactive?.fixes, ["activate", "configure"]);
    const expired = remoteStatus(input({ tokens: [listed({ expired: true }, -1)] }));
    assert.equal(expired?.text, "$(error) laptop: expired");
    assert.equal(expired?.fixes[0], "rotate");
    const removed = remoteStatus(input({ tokens: [] }));
    assert.equal(removed?.text, "$(error) Clarive: token removed");
    assert.deepEqual(removed?.fixes, ["configure"]);
  });

  it("says when git has no token for the remote, and finds an embedded one by its hint", () => {
    const missing = remoteStatus(input({ stored: undefined }));
    assert.equal(missing?.text, "$(warning) Clarive: no token");
    assert.deepEqual(missing?.fixes, ["configure"]);
    const embedded = remoteStatus(
      input({ stored: undefined, remote: { name: "origin", url: `http://admin:${SECRET}@127.0.0.1:8080/git/acme/widgets.git` } }),
    );
    assert.equal(embedded?.text, "$(key) laptop · 30 days");
    assert.match(embedded?.tooltip ?? "", /embedded in the remote URL/);
  });

  it("shows nothing for a remote elsewhere; signed out, offers Sign In when git has a stored token", () => {
    assert.equal(remoteStatus(input({ remote: { name: "origin", url: "https://github.com/acme/widgets.git" } })), undefined);
    assert.equal(remoteStatus(input({ remote: undefined })), undefined);
    const signedOut = remoteStatus(input({ serverUrl: undefined }));
    assert.equal(signedOut?.text, "$(key) Clarive: signed out");
    assert.deepEqual(signedOut?.fixes, ["signIn"]);
    assert.equal(remoteStatus(input({ serverUrl: undefined, stored: undefined })), undefined);
  });

  it("picks the remote git pushes to: the upstream, else origin, else the first", () => {
    const remotes = [{ name: "mirror" }, { name: "origin" }, { name: "clarive" }];
    assert.equal(pushRemote(remotes, "clarive")?.name, "clarive");
    assert.equal(pushRemote(remotes, undefined)?.name, "origin");
    assert.equal(pushRemote([{ name: "mirror" }], undefined)?.name, "mirror");
  });
});

import assert from "node:assert/strict";
import { matchCredential, credentialKeyOf } from "../../../extension/src/core/credentialMatching";
import { GitCredentialStore, GIT_CREDENTIALS_SECRET_KEY } from "../../../extension/src/git/credentialStore";
import { MemorySecrets } from "../support/memorySecrets";

const widgets = { host: "127.0.0.1:8080", path: "/git/acme/widgets", username: "alice", id: "widgets" };
const gears = { host: "127.0.0.1:8080", path: "/git/acme/gears", username: "alice", id: "gears" };
const other = { host: "git.example.com", path: "/git/acme/widgets", username: "bob", id: "other" };

describe("credentials provider host matching", () => {
  it("matches host and repository path when git names the path (useHttpPath)", () => {
    const stored = [widgets, gears, other];
    assert.equal(matchCredential("http://127.0.0.1:8080/git/acme/widgets.git", stored)?.id, "widgets");
    assert.equal(matchCredential("http://127.0.0.1:8080/git/acme/gears", stored)?.id, "gears");
    assert.equal(matchCredential("https://GIT.EXAMPLE.COM:443/git/acme/widgets.git/", stored)?.id, "other");
    assert.equal(matchCredential("http://127.0.0.1:8080/git/acme/unknown.git", stored), undefined);
  });

  it("never answers for another host or port", () => {
    assert.equal(matchCredential("http://127.0.0.1:9999/git/acme/widgets.git", [widgets]), undefined);
    assert.equal(matchCredential("http://evil.example/git/acme/widgets.git", [widgets]), undefined);
    assert.equal(matchCredential("ssh://127.0.0.1:8080/git/acme/widgets.git", [widgets]), undefined);
  });

  it("answers a host-only prompt only when one credential fits", () => {
    assert.equal(matchCredential("http://127.0.0.1:8080", [widgets])?.id, "widgets");
    assert.equal(matchCredential("http://127.0.0.1:8080", [widgets, gears]), undefined, "ambiguous");
    assert.equal(matchCredential("https://bob@git.example.com", [widgets, other])?.id, "other");
  });

  it("respects the user named in the prompt", () => {
    assert.equal(matchCredential("http://carol@127.0.0.1:8080/git/acme/widgets.git", [widgets]), undefined);
    assert.equal(matchCredential("http://alice@127.0.0.1:8080/git/acme/widgets.git", [widgets])?.id, "widgets");
  });

  it("keys a remote URL by canonical host and path without .git", () => {
    assert.deepEqual(credentialKeyOf("HTTP://Host:80/git/a/b.git", "u"), { host: "host", path: "/git/a/b", username: "u" });
  });
});

describe("git credential store (SecretStorage)", () => {
  it("stores per host + path, replaces on re-store, answers lookups and forgets", async () => {
    const secrets = new MemorySecrets();
    const store = new GitCredentialStore(secrets);
    await store.set("http://127.0.0.1:8080/git/acme/widgets.git", "alice", "clapat_one", "acme/widgets");
    await store.set("http://127.0.0.1:8080/git/acme/gears.git", "alice", "clapat_two", "acme/gears");
    await store.set("http://127.0.0.1:8080/git/acme/widgets.git", "alice", "clapat_three", "acme/widgets");
    assert.equal((await store.all()).length, 2);
    assert.deepEqual(await store.lookup("http://127.0.0.1:8080/git/acme/widgets.git"), { username: "alice", password: "clapat_three" });
    assert.equal(await store.lookup("http://127.0.0.1:8080"), undefined, "two repositories on the host: ambiguous");
    assert.ok(await store.remove({ host: "127.0.0.1:8080", path: "/git/acme/widgets" }));
    assert.ok(await store.remove({ host: "127.0.0.1:8080", path: "/git/acme/gears" }));
    assert.equal(secrets.values.has(GIT_CREDENTIALS_SECRET_KEY), false, "nothing left behind");
  });

  it("treats a corrupt entry as empty instead of failing git", async () => {
    const secrets = new MemorySecrets();
    await secrets.store(GIT_CREDENTIALS_SECRET_KEY, "{not json");
    assert.deepEqual(await new GitCredentialStore(secrets).all(), []);
  });
});

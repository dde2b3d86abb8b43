import assert from "node:assert/strict";
import {
  gitRemoteUrl,
  gitRemoteUrlWithToken,
  hasEmbeddedClariveToken,
  parseServerUrl,
  repositoryFromRemoteUrl,
  withoutCredentials,
} from "../../../extension/src/core/urls";

describe("URL handling", () => {
  it("normalises server URLs: no trailing slash, keeps a path prefix, refuses credentials and queries", () => {
    assert.deepEqual(parseServerUrl(" https://Git.Example.com/ "), { ok: true, url: "https://git.example.com" });
    assert.deepEqual(parseServerUrl("http://127.0.0.1:8080/clarive//"), { ok: true, url: "http://127.0.0.1:8080/clarive" });
    assert.equal(parseServerUrl("git.example.com").ok, false);
    assert.equal(parseServerUrl("ssh://git@host").ok, false);
    assert.equal(parseServerUrl("https://alice:pw@host").ok, false);
    assert.equal(parseServerUrl("https://host/?a=1").ok, false);
  });

  it("builds the clean remote URL <server>/git/<project>/<repo>.git", () => {
    assert.equal(gitRemoteUrl("http://127.0.0.1:8080", "acme/widgets"), "http://127.0.0.1:8080/git/acme/widgets.git");
    assert.equal(gitRemoteUrl("https://h/prefix/", "acme/widgets"), "https://h/prefix/git/acme/widgets.git");
  });

  it("embeds user and token only when asked, and strips them again", () => {
    const embedded = gitRemoteUrlWithToken("http://127.0.0.1:8080", "acme/widgets", "alice", "clapat_abc");
    assert.equal(embedded, "http://alice:clapat_abc@127.0.0.1:8080/git/acme/widgets.git");
    assert.ok(hasEmbeddedClariveToken(embedded));
    assert.equal(withoutCredentials(embedded), "http://127.0.0.1:8080/git/acme/widgets.git");
    assert.equal(hasEmbeddedClariveToken("http://127.0.0.1:8080/git/acme/widgets.git"), false);
    assert.equal(hasEmbeddedClariveToken("https://user:ghp_x@github.com/a/b"), false);
  });

  it("recognises a remote on this server in all its spellings", () => {
    const server = "http://127.0.0.1:8080";
    for (const remote of [
      "http://127.0.0.1:8080/git/acme/widgets.git",
      "http://127.0.0.1:8080/git/acme/widgets",
      "http://127.0.0.1:8080/git/acme/widgets/",
      "http://alice:clapat_x@127.0.0.1:8080/git/acme/widgets.git",
    ]) {
      assert.equal(repositoryFromRemoteUrl(remote, server), "acme/widgets", remote);
    }
    assert.equal(repositoryFromRemoteUrl("https://GIT.example.com:443/git/a/b.git", "https://git.example.com"), "a/b");
  });

  it("does not claim remotes of other servers, schemes or paths", () => {
    const server = "http://127.0.0.1:8080";
    assert.equal(repositoryFromRemoteUrl("http://127.0.0.1:9090/git/acme/widgets.git", server), undefined);
    assert.equal(repositoryFromRemoteUrl("https://127.0.0.1:8080/git/acme/widgets.git", server), undefined);
    assert.equal(repositoryFromRemoteUrl("http://127.0.0.1:8080/acme/widgets.git", server), undefined);
    assert.equal(repositoryFromRemoteUrl("http://127.0.0.1:8080/git/acme/widgets/extra", server), undefined);
    assert.equal(repositoryFromRemoteUrl("git@github.com:acme/widgets.git", server), undefined);
  });
});

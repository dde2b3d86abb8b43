import assert from "node:assert/strict";
import { parseGitRequest } from "../../server/src/git/gitPath";

const target = (path: string, method = "GET", query = "service=git-upload-pack", layout?: "service" | "external") => {
  const parsed = parseGitRequest(path, method, query, layout);
  return parsed.ok ? `${parsed.target.project}/${parsed.target.repository} ${parsed.target.service}` : parsed.status;
};

describe("reading a git request (one reading for every path)", () => {
  it("takes exactly /git/<project>/<repo>[.git]/<endpoint>", () => {
    assert.equal(target("/git/acme/widgets.git/info/refs"), "acme/widgets git-upload-pack");
    assert.equal(target("/git/acme/widgets/info/refs", "GET", "service=git-receive-pack"), "acme/widgets git-receive-pack");
    assert.equal(target("/git/acme/widgets.git/git-receive-pack", "POST", ""), "acme/widgets git-receive-pack");
  });

  it("refuses every other shape with 404, so no URL names another repository than it seems to", () => {
    for (const path of [
      "/git/acme/../acme/widgets.git/info/refs",
      "/git/x/y/acme/widgets.git/info/refs",
      "/prefix/git/acme/widgets.git/info/refs",
      "/git//acme/widgets.git/info/refs",
      "/git/acme//widgets.git/info/refs",
      "/git/acme/widgets%2Egit/info/refs",
      "/git/acme%2Fwidgets/x.git/info/refs",
      "/git/%2e%2e/widgets.git/info/refs",
      "/git/acme/wid%00gets.git/info/refs",
      "/git/acme\\widgets.git/info/refs",
      "/git/acme/widgets.git.git/info/refs",
      "/git/../widgets/info/refs",
      "/git/acme/widgets.git/info/refs/",
      "/GIT/acme/widgets.git/info/refs",
    ]) {
      assert.equal(target(path), 404, path);
    }
  });

  it("refuses a repeated service parameter, whatever its spelling", () => {
    for (const query of [
      "service=git-upload-pack&service=git-receive-pack",
      "service=git-upload-pack&%73ervice=git-receive-pack",
      "service=a&service=a",
    ]) {
      assert.equal(target("/git/acme/widgets.git/info/refs", "GET", query), 400, query);
    }
    assert.equal(target("/git/acme/widgets.git/info/refs", "GET", "other=1&service=git-receive-pack"), "acme/widgets git-receive-pack");
    assert.equal(target("/git/acme/widgets.git/info/refs", "GET", "service=git-upload-archive"), 403);
    assert.equal(target("/git/acme/widgets.git/info/refs", "GET", ""), 403);
  });

  it("the auth hook's external layout may drop the /git prefix, still with exactly two segments", () => {
    assert.equal(target("/acme/widgets.git/info/refs", "GET", undefined, "external"), "acme/widgets git-upload-pack");
    assert.equal(target("/git/acme/widgets.git/info/refs", "GET", undefined, "external"), "acme/widgets git-upload-pack");
    assert.equal(target("/git/widgets.git/info/refs", "GET", undefined, "external"), "git/widgets git-upload-pack");
    assert.equal(target("/x/acme/widgets.git/info/refs", "GET", undefined, "external"), 404);
    assert.equal(target("/acme/widgets.git/info/refs"), 404, "not on the service's own routes");
  });
});

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "../../..");
const read = (file: string) => JSON.parse(fs.readFileSync(path.join(root, file), "utf8")) as { scripts: Record<string, string> };

describe("extension packaging", () => {
  it("builds the .vsix from the top level with npm run package", () => {
    assert.equal(read("package.json").scripts.package, "npm run package -w extension");
  });

  it("points the packaged README's relative links (the screenshot) into extension/ of the repository", () => {
    const script = read("extension/package.json").scripts.package ?? "";
    assert.match(script, /--baseImagesUrl https:\/\/github\.com\/clarive\/clarive-git-pats\/raw\/HEAD\/extension(\s|$)/);
    assert.match(script, /--baseContentUrl https:\/\/github\.com\/clarive\/clarive-git-pats\/blob\/HEAD\/extension(\s|$)/);
    const readme = fs.readFileSync(path.join(root, "extension/README.md"), "utf8");
    const image = /!\[[^\]]*\]\(([^)]+)\)/.exec(readme)?.[1] ?? "";
    assert.ok(fs.existsSync(path.join(root, "extension", image)), `the README's image ${image} exists under extension/`);
  });

  it("ships the walkthrough's pages in the .vsix", () => {
    const ignore = fs.readFileSync(path.join(root, "extension/.vscodeignore"), "utf8").split("\n");
    assert.ok(ignore.includes("!media/walkthrough/*.md"));
  });
});

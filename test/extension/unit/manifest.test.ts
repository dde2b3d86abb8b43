import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

interface Command {
  command: string;
  title: string;
  category?: string;
  icon?: string;
}
interface MenuEntry {
  command: string;
  when?: string;
  group?: string;
}
interface Manifest {
  publisher: string;
  name: string;
  displayName: string;
  description: string;
  icon: string;
  main: string;
  engines: { vscode: string };
  devDependencies: Record<string, string>;
  contributes: {
    viewsContainers: { activitybar: Array<{ id: string; title: string; icon: string }> };
    views: Record<string, Array<{ id: string; name: string }>>;
    viewsWelcome: Array<{ view: string; when: string; contents: string }>;
    commands: Command[];
    menus: Record<string, MenuEntry[]>;
    configuration: { properties: Record<string, { type: string; default: unknown }> };
  };
}

const root = path.resolve(import.meta.dirname, "../../../extension");
const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as Manifest;
const { contributes } = manifest;

describe("extension manifest", () => {
  it("identifies the extension, with an icon that exists and an engine matching @types/vscode", () => {
    assert.equal(manifest.publisher, "clarive");
    assert.equal(manifest.name, "clarive-git-pats");
    assert.ok(manifest.displayName && manifest.description);
    assert.ok(fs.existsSync(path.join(root, manifest.icon)));
    assert.equal(manifest.main, "./dist/extension.js");
    assert.equal(manifest.engines.vscode, manifest.devDependencies["@types/vscode"], "the API used is the API declared");
  });

  it("puts a Tokens view in a Clarive activity-bar container", () => {
    const [container] = contributes.viewsContainers.activitybar;
    assert.equal(container?.title, "Clarive");
    assert.ok(container && fs.existsSync(path.join(root, container.icon)));
    assert.deepEqual(
      contributes.views[container?.id ?? ""]?.map((v) => [v.id, v.name]),
      [
        ["clarive.tokens", "Tokens"],
        ["clarive.allTokens", "All Tokens"],
      ],
    );
  });

  it("gives every command the Clarive category and a codicon", () => {
    for (const command of contributes.commands) {
      assert.equal(command.category, "Clarive", command.command);
      assert.match(command.icon ?? "", /^\$\([a-z-]+\)$/, command.command);
    }
  });

  it("hides item-only commands from the palette and drives item menus by contextValue", () => {
    const palette = new Map(contributes.menus.commandPalette?.map((entry) => [entry.command, entry.when]));
    for (const id of ["clarive.editToken", "clarive.activateToken", "clarive.deactivateToken", "clarive.removeToken"]) {
      assert.equal(palette.get(id), "false", id);
    }
    const item = contributes.menus["view/item/context"] ?? [];
    const inline = (when: string) => item.filter((e) => e.group?.startsWith("inline") && e.when?.includes(when)).map((e) => e.command);
    assert.deepEqual(inline("viewItem == token:active"), ["clarive.deactivateToken"]);
    assert.deepEqual(inline("viewItem == token:inactive"), ["clarive.activateToken"]);
    assert.ok(
      item.some((e) => e.command === "clarive.removeToken" && e.when?.includes("/^token:/")),
      "remove works on expired tokens too",
    );
    for (const id of ["clarive.admin.toggleGlobalPatAuth", "clarive.admin.setRepositoryPatAccess"])
      assert.equal(palette.get(id), "clarive.isAdmin");
  });

  it("shows the welcome view while signed out, through a negated context key", () => {
    const [welcome] = contributes.viewsWelcome;
    assert.equal(welcome?.when, "!clarive.signedIn");
    assert.match(welcome?.contents ?? "", /\[Sign in to a Clarive server\]\(command:clarive\.signIn\)/);
  });

  it("has the three settings", () => {
    const props = contributes.configuration.properties;
    assert.equal(props["clarive.serverUrl"]?.type, "string");
    assert.equal(props["clarive.expiryWarningDays"]?.default, 7);
    assert.equal(props["clarive.useGitCredentialsProvider"]?.default, true);
  });

  it("has a handler for every contributed command", () => {
    const source = fs.readFileSync(path.join(root, "src/extension.ts"), "utf8");
    for (const command of contributes.commands) assert.ok(source.includes(`"${command.command}"`), command.command);
  });
});

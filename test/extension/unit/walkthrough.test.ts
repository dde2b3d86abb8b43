import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

interface Step {
  id: string;
  title: string;
  description: string;
  media: { markdown?: string };
  completionEvents: string[];
}
const root = path.resolve(import.meta.dirname, "../../../extension");
const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
  contributes: { walkthroughs: Array<{ id: string; steps: Step[] }>; commands: Array<{ command: string }> };
};

describe("extension walkthrough", () => {
  it("goes sign in → create a token → configure the remote → push, each step with its button and finished by its command", () => {
    const [walkthrough] = manifest.contributes.walkthroughs;
    assert.equal(walkthrough?.id, "clarive.getStarted");
    const steps = walkthrough?.steps ?? [];
    assert.deepEqual(
      steps.map((step) => step.id),
      ["signIn", "createToken", "configureRemote", "push"],
    );
    const contributed = new Set(manifest.contributes.commands.map((c) => c.command));
    const expected: Record<string, [string, string]> = {
      signIn: ["clarive.signIn", "onContext:clarive.signedIn"],
      createToken: ["clarive.createToken", "onCommand:clarive.createToken"],
      configureRemote: ["clarive.configureGitRemote", "onCommand:clarive.configureGitRemote"],
      push: ["git.push", "onCommand:git.push"],
    };
    for (const step of steps) {
      const [command, event] = expected[step.id] ?? ["", ""];
      assert.ok(step.description.includes(`(command:${command})`), `${step.id} has a button running ${command}`);
      assert.ok(step.completionEvents.includes(event), `${step.id} is finished by ${event}`);
      if (command.startsWith("clarive.")) assert.ok(contributed.has(command), command);
      assert.ok(step.media.markdown && fs.existsSync(path.join(root, step.media.markdown)), `${step.id}'s page exists`);
    }
  });
});

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { type Client, createRepository, createToken, loginAdmin, setPatAuth } from "../support/client";
import { gitOk, remoteUrl, tempDir, workingCopyWithCommit } from "../support/git";
import { startTestServer, type TestServer } from "../support/testServer";

/**
 * Protocol v2's list of refs, kept by the service while the repository's refs are unchanged
 * (server/src/git/refListCache.ts): a fetch must see every ref change at once, whoever made it:
 * a push through this service, or a change on disk as another instance sharing the folder makes.
 */
describe("git: lists of refs answered from memory", () => {
  let server: TestServer;
  let admin: Client;
  let url: string;
  let bare: string;

  /** ls-refs requests answered from memory and by git so far, from GET /metrics. */
  const answers = async (): Promise<{ memory: number; git: number }> => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const count = (from: string) =>
      Number(new RegExp(`^clarive_git_ref_list_answers_total\\{from="${from}"\\} (\\d+)`, "m").exec(text)?.[1] ?? 0);
    return { memory: count("memory"), git: count("git") };
  };
  /** The refs git sees over HTTP (`git ls-remote`: an ls-refs request of its own), with peeled tags. */
  const remoteRefsAndPeeled = async (): Promise<Map<string, string>> => {
    const out = await gitOk(["ls-remote", url]);
    return new Map(
      out
        .trim()
        .split("\n")
        .map((line) => line.split("\t").reverse() as [string, string]),
    );
  };
  /** The same without HEAD and the peeled lines: what for-each-ref lists in the repository. */
  const remoteRefs = async (): Promise<Map<string, string>> => {
    const refs = await remoteRefsAndPeeled();
    for (const name of refs.keys()) if (name === "HEAD" || name.endsWith("^{}")) refs.delete(name);
    return refs;
  };
  const refsOnDisk = async (): Promise<Map<string, string>> => {
    const out = await gitOk(["for-each-ref", "--format=%(refname) %(objectname)"], { cwd: bare });
    return new Map(
      out
        .trim()
        .split("\n")
        .map((line) => line.split(" ") as [string, string]),
    );
  };
  const assertSeesDisk = async (what: string) => {
    const [seen, disk] = [await remoteRefs(), await refsOnDisk()];
    assert.deepEqual([...seen].sort(), [...disk].sort(), what);
  };
  /** Past the window in which a ref file's time cannot tell a second change from the first. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 2100));

  before(async () => {
    server = await startTestServer();
    admin = await loginAdmin(server);
    await createRepository(admin, "acme", "refs");
    await setPatAuth(admin, true);
    const token = (await createToken(admin, { permission: "read-write" })).token;
    url = remoteUrl(server.url, "acme/refs", "admin", token);
    bare = path.join(server.config.reposDir, "acme", "refs.git");
    const wc = await workingCopyWithCommit(url);
    await gitOk(["push", "-q", "origin", "HEAD:main"], { cwd: wc });
  });
  after(() => server.close());

  it("answers a repeated list from memory once the refs have settled, the same bytes git gives", async () => {
    await settle();
    await assertSeesDisk("first list");
    const before = await answers();
    await assertSeesDisk("second list");
    await assertSeesDisk("third list");
    const after = await answers();
    assert.equal(after.memory - before.memory, 2, "the two repeats came from memory");
    // A clone and a fetch ask with their own arguments (ref-prefix): their own entries, correct too.
    const dir = tempDir();
    await gitOk(["clone", "-q", url, dir]);
    await gitOk(["fetch", "-q", "origin"], { cwd: dir });
    assert.equal(await gitOk(["rev-parse", "origin/main"], { cwd: dir }), await gitOk(["rev-parse", "main"], { cwd: bare }));
  });

  it("shows a push at once, round after round, to the next list right behind it", async () => {
    const pusher = tempDir();
    await gitOk(["clone", "-q", url, pusher]);
    const fetcher = tempDir();
    await gitOk(["clone", "-q", url, fetcher]);
    for (let round = 0; round < 12; round++) {
      fs.writeFileSync(path.join(pusher, "round"), `${round}\n`);
      await gitOk(["add", "round"], { cwd: pusher });
      await gitOk(["commit", "-qm", `round ${round}`], { cwd: pusher });
      const branch = round % 3 === 0 ? `topic/r${round}` : "main"; // new folders under refs/heads too
      await gitOk(["push", "-q", "origin", `HEAD:${branch}`], { cwd: pusher });
      await gitOk(["fetch", "-q", "origin"], { cwd: fetcher });
      const pushed = (await gitOk(["rev-parse", "HEAD"], { cwd: pusher })).trim();
      assert.equal((await gitOk(["rev-parse", `origin/${branch}`], { cwd: fetcher })).trim(), pushed, `round ${round}`);
    }
  });

  it("shows a change made on disk behind its back (another instance, an operator) once the list was kept", async () => {
    const changes: [string, () => Promise<unknown>][] = [
      ["a new branch written as a loose ref", () => gitOk(["branch", "disk-branch", "main"], { cwd: bare })],
      ["refs packed (packed-refs rewritten, loose files gone)", () => gitOk(["pack-refs", "--all"], { cwd: bare })],
      ["a packed ref moved", () => gitOk(["update-ref", "refs/heads/disk-branch", "main~1"], { cwd: bare })],
      ["a ref deleted", () => gitOk(["update-ref", "-d", "refs/heads/disk-branch"], { cwd: bare })],
      ["an annotated tag", () => gitOk(["tag", "-a", "-m", "v1", "v1", "main"], { cwd: bare })],
      [
        "a loose ref's file rewritten in place (same size)",
        async () => {
          await gitOk(["update-ref", "refs/heads/in-place", "main"], { cwd: bare });
          await settle();
          await assertSeesDisk("before the in-place edit");
          await assertSeesDisk("kept");
          fs.writeFileSync(
            path.join(bare, "refs", "heads", "in-place"),
            `${(await gitOk(["rev-parse", "main~1"], { cwd: bare })).trim()}\n`,
          );
        },
      ],
      [
        "refs hidden by the repository's configuration",
        () => gitOk(["config", "uploadpack.hideRefs", "refs/heads/in-place"], { cwd: bare }),
      ],
    ];
    for (const [what, change] of changes) {
      await settle();
      await assertSeesDisk(`before: ${what}`);
      const before = await answers();
      await assertSeesDisk(`kept, before: ${what}`);
      assert.equal((await answers()).memory - before.memory, 1, `the list was kept before: ${what}`);
      await change();
      const seen = await remoteRefs();
      const disk = await refsOnDisk();
      if (what.startsWith("refs hidden")) disk.delete("refs/heads/in-place");
      assert.deepEqual([...seen].sort(), [...disk].sort(), `after: ${what}`);
    }
    assert.equal((await remoteRefsAndPeeled()).get("refs/tags/v1^{}"), (await gitOk(["rev-parse", "v1^{}"], { cwd: bare })).trim());
  });

  it("follows HEAD to another branch", async () => {
    await settle();
    const head = async () => (await gitOk(["ls-remote", "--symref", url, "HEAD"])).split("\n")[0];
    assert.equal(await head(), "ref: refs/heads/main\tHEAD");
    assert.equal(await head(), "ref: refs/heads/main\tHEAD");
    await gitOk(["symbolic-ref", "HEAD", "refs/heads/topic/r0"], { cwd: bare });
    assert.equal(await head(), "ref: refs/heads/topic/r0\tHEAD");
  });
});

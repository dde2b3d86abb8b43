import assert from "node:assert/strict";
import { DESCRIPTION_MAX_LENGTH, generatePersonalAccessToken, generateApiKey } from "@clarive/shared";
import {
  apiKeyProblem,
  descriptionProblem,
  expiryDateProblem,
  parseExpiryDate,
  personalAccessTokenProblem,
  serverUrlProblem,
} from "../../../extension/src/core/validation";
import {
  createTokenRequest,
  expiryChoices,
  permissionChoices,
  repositoriesRefusingTokens,
  repositoryChoices,
  updateTokenRequest,
} from "../../../extension/src/core/tokenForm";
import type { RepositoryDto } from "@clarive/shared";
import { NOW, tokenFixture } from "../support/tokens";

function repository(fullName: string, effectivePatAccess: boolean): RepositoryDto {
  const [project = "", name = ""] = fullName.split("/");
  return {
    id: 1,
    project,
    name,
    fullName,
    patAccess: "inherit",
    effectivePatAccess,
    pushProtection: "inherit",
    effectivePushProtection: true,
    cloneUrl: "",
    access: "write",
    createdAt: "",
  };
}

describe("form validation", () => {
  it("needs a description within the service's limit", () => {
    assert.match(descriptionProblem("   ") ?? "", /Enter a description/);
    assert.equal(descriptionProblem("laptop"), undefined);
    assert.equal(descriptionProblem("x".repeat(DESCRIPTION_MAX_LENGTH)), undefined);
    assert.match(descriptionProblem("x".repeat(DESCRIPTION_MAX_LENGTH + 1)) ?? "", new RegExp(`At most ${DESCRIPTION_MAX_LENGTH}`));
  });

  it("parses YYYY-MM-DD dates as the end of that UTC day, refusing impossible ones", () => {
    assert.equal(parseExpiryDate("2026-07-01")?.toISOString(), "2026-07-01T23:59:59.000Z");
    assert.equal(parseExpiryDate("2026-02-30"), undefined);
    assert.equal(parseExpiryDate("01/07/2026"), undefined);
  });

  it("accepts expiration dates 7 to 730 days away, and at most the server's maxLifetimeDays", () => {
    // Measured as the service measures them: exactly, from now to the end of that day.
    assert.equal(expiryDateProblem("2026-06-22", 730, NOW), undefined, "7.5 days away");
    assert.match(expiryDateProblem("2026-06-21", 730, NOW) ?? "", /between 7 and 730 days/, "6.5 days away is not 7");
    assert.equal(expiryDateProblem("2028-06-13", 730, NOW), undefined);
    assert.match(expiryDateProblem("2028-06-14", 730, NOW) ?? "", /between 7 and 730/);
    assert.match(expiryDateProblem("2026-12-31", 90, NOW) ?? "", /between 7 and 90 days/);
    assert.match(expiryDateProblem("soon", 730, NOW) ?? "", /YYYY-MM-DD/);
  });

  it("checks server URLs, API keys and tokens", () => {
    assert.equal(serverUrlProblem("https://git.example.com"), undefined);
    assert.match(serverUrlProblem("ftp://x") ?? "", /http/);
    assert.ok(apiKeyProblem(generatePersonalAccessToken())?.includes("personal access token"));
    assert.equal(apiKeyProblem(generateApiKey()), undefined);
    assert.equal(personalAccessTokenProblem(generatePersonalAccessToken()), undefined);
    assert.match(personalAccessTokenProblem("clapat_" + "a".repeat(36)) ?? "", /checksum/);
  });
});

describe("token form choices", () => {
  it("offers the presets 7/30/90/365/730 days (30 first) then a date", () => {
    const choices = expiryChoices(730, NOW);
    assert.deepEqual(
      choices.map((c) => c.label),
      ["30 days", "7 days (1 week)", "90 days", "365 days (1 year)", "730 days (2 years)", "A date…"],
    );
    assert.equal(choices[0]?.description, "until 2026-07-15");
  });

  it("drops presets beyond the server's maxLifetimeDays and puts a prefilled one first", () => {
    assert.deepEqual(
      expiryChoices(90, NOW, 7).map((c) => c.label),
      ["7 days (1 week)", "30 days", "90 days", "A date…"],
    );
  });

  it("orders permissions with the preferred first", () => {
    assert.deepEqual(
      permissionChoices("read").map((c) => c.permission),
      ["read", "read-write"],
    );
  });

  it("pre-picks the current scope in the repository multi-pick", () => {
    const choices = repositoryChoices([repository("b/two", true), repository("a/one", false)], ["a/one"]);
    assert.deepEqual(
      choices.map((c) => [c.label, c.picked]),
      [
        ["a/one", true],
        ["b/two", false],
      ],
    );
    assert.match(choices[0]?.description ?? "", /PAT auth off/);
  });

  it("finds chosen repositories where tokens are refused, all reachable ones for an empty scope", () => {
    const repos = [repository("a/on", true), repository("a/off", false)];
    assert.deepEqual(repositoriesRefusingTokens(["a/on"], repos), []);
    assert.deepEqual(repositoriesRefusingTokens(["a/off", "a/on"], repos), ["a/off"]);
    assert.deepEqual(repositoriesRefusingTokens([], repos), ["a/off"]);
  });

  it("builds create requests: days or date, scope only when restricted", () => {
    assert.deepEqual(createTokenRequest(" ci ", { expiresInDays: 30 }, [], "read"), {
      description: "ci",
      expiresInDays: 30,
      permission: "read",
    });
    assert.deepEqual(createTokenRequest("ci", { expiresAt: new Date("2026-07-01T23:59:59Z") }, ["a/b"], "read-write"), {
      description: "ci",
      expiresAt: "2026-07-01T23:59:59.000Z",
      repositories: ["a/b"],
      permission: "read-write",
    });
  });

  it("sends only what an edit changed; an empty list means all repositories", () => {
    const token = tokenFixture();
    assert.deepEqual(updateTokenRequest(token, { description: "laptop", scope: ["acme/widgets"], permission: "read-write" }), {});
    assert.deepEqual(updateTokenRequest(token, { description: "desk", scope: [], permission: "read" }), {
      description: "desk",
      repositories: [],
      permission: "read",
    });
  });
});

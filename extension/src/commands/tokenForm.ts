/** The steps shared by Create Token and Edit Token: description, scope and permission prompts. */
import type { RepositoryDto, TokenPermission } from "@clarive/shared";
import { permissionChoices, repositoryChoices } from "../core/tokenForm";
import { descriptionProblem } from "../core/validation";
import type { Ui } from "../ui/ui";

export async function askDescription(ui: Ui, title: string, value: string | undefined): Promise<string | undefined> {
  const entered = await ui.input({
    title,
    prompt: "What is the token for? (e.g. the machine or the CI job)",
    ...(value !== undefined && { value }),
    validate: descriptionProblem,
  });
  return entered?.trim();
}

/** [] for "All repositories", otherwise the chosen "project/name" entries; undefined on cancel. */
export async function askScope(
  ui: Ui,
  title: string,
  repositories: readonly RepositoryDto[],
  selected: readonly string[],
): Promise<string[] | undefined> {
  const all = { label: "All repositories", detail: "every repository you can reach, now and later", all: true };
  const some = {
    label: "Selected repositories…",
    detail: `pick from ${repositories.length} ${repositories.length === 1 ? "repository" : "repositories"} you can reach`,
    all: false,
  };
  const choices = selected.length > 0 ? [some, all] : [all, some];
  const kind = await ui.pickOne(repositories.length > 0 ? choices : [all], {
    title,
    placeHolder: "Which repositories may the token reach?",
  });
  if (!kind) return undefined;
  if (kind.all) return [];
  for (;;) {
    const picked = await ui.pickMany(repositoryChoices(repositories, selected), { title, placeHolder: "Select one or more repositories" });
    if (!picked) return undefined;
    if (picked.length > 0) return picked.map((choice) => choice.fullName);
    await ui.message("warning", "Select at least one repository, or choose All repositories.", {});
  }
}

export async function askPermission(ui: Ui, title: string, preferred: TokenPermission | undefined): Promise<TokenPermission | undefined> {
  const picked = await ui.pickOne(permissionChoices(preferred), { title, placeHolder: "What may git do with the token?" });
  return picked?.permission;
}

/** A modal when tokens would be refused on some chosen repositories; true to go on anyway. */
export async function confirmDespitePatAuthOff(ui: Ui, refusing: readonly string[], allRepositories: boolean): Promise<boolean> {
  if (refusing.length === 0) return true;
  const list = refusing.length > 5 ? `${refusing.slice(0, 5).join(", ")} and ${refusing.length - 5} more` : refusing.join(", ");
  const answer = await ui.message(
    "warning",
    `Personal access tokens are turned off for ${list}.`,
    {
      modal: true,
      detail: `${allRepositories ? "The token will work on the other repositories" : "git will refuse the token there"} until an administrator allows PAT authentication for them.`,
    },
    "Continue Anyway",
  );
  return answer === "Continue Anyway";
}

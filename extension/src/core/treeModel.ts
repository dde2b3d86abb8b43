/**
 * The Tokens tree as data, from the load state: token items, an error item when the server
 * fails, a hint when the list is empty, nothing when signed out (the welcome view shows then).
 */
import type { TokenDto } from "@clarive/shared";
import { sortTokens, tokenItemModel, type TokenItemModel } from "./tokenItems";

export type TokensState =
  { kind: "signed-out" } | { kind: "loading" } | { kind: "loaded"; tokens: TokenDto[] } | { kind: "error"; message: string };

export type TreeNodeModel =
  | { kind: "token"; token: TokenDto; item: TokenItemModel }
  | {
      kind: "message";
      id: string;
      label: string;
      description: string;
      tooltip: string;
      icon: string;
      iconColor?: string;
      command?: string;
    };

export function treeNodes(state: TokensState, warningDays: number, now: Date): TreeNodeModel[] {
  switch (state.kind) {
    case "signed-out":
      return [];
    case "loading":
      return [{ kind: "message", id: "loading", label: "Loading tokens…", description: "", tooltip: "", icon: "loading~spin" }];
    case "error":
      return [
        {
          kind: "message",
          id: "error",
          label: "Could not load tokens",
          description: state.message,
          tooltip: `${state.message}\nClick to try again.`,
          icon: "error",
          iconColor: "errorForeground",
          command: "clarive.refreshTokens",
        },
      ];
    case "loaded":
      if (state.tokens.length === 0) {
        return [
          {
            kind: "message",
            id: "empty",
            label: "No tokens yet",
            description: "Create one",
            tooltip: "Create a personal access token for git over HTTP",
            icon: "add",
            command: "clarive.createToken",
          },
        ];
      }
      return sortTokens(state.tokens, now).map((token) => ({ kind: "token", token, item: tokenItemModel(token, warningDays, now) }));
  }
}

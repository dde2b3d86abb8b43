/** The Ui interface on top of `vscode.window`: the prompts the user really sees. */
import * as vscode from "vscode";
import type { InputOptions, MessageKind, MessageOptions, PickItem, PickOptions, Ui } from "../ui/ui";

export class WindowUi implements Ui {
  async input(options: InputOptions): Promise<string | undefined> {
    return vscode.window.showInputBox({
      title: options.title,
      prompt: options.prompt,
      value: options.value,
      placeHolder: options.placeHolder,
      password: options.password,
      ignoreFocusOut: true,
      validateInput: options.validate ? (value) => options.validate?.(value) ?? null : undefined,
    });
  }

  async pickOne<T extends PickItem>(items: readonly T[], options: PickOptions): Promise<T | undefined> {
    return vscode.window.showQuickPick([...items], { title: options.title, placeHolder: options.placeHolder, ignoreFocusOut: true });
  }

  async pickMany<T extends PickItem>(items: readonly T[], options: PickOptions): Promise<T[] | undefined> {
    return vscode.window.showQuickPick([...items], {
      title: options.title,
      placeHolder: options.placeHolder,
      ignoreFocusOut: true,
      canPickMany: true,
    });
  }

  async message(kind: MessageKind, text: string, options: MessageOptions, ...actions: string[]): Promise<string | undefined> {
    const show =
      kind === "error"
        ? vscode.window.showErrorMessage
        : kind === "warning"
          ? vscode.window.showWarningMessage
          : vscode.window.showInformationMessage;
    const shown = { modal: options.modal ?? false, detail: options.detail };
    if (!options.closeLabel) return show(text, shown, ...actions);
    // A MessageItem with isCloseAffordance replaces the modal's own "Cancel" button.
    const items: vscode.MessageItem[] = [...actions.map((title) => ({ title })), { title: options.closeLabel, isCloseAffordance: true }];
    const chosen = await show(text, shown, ...items);
    return chosen && !chosen.isCloseAffordance ? chosen.title : undefined;
  }
}

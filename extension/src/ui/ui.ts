/**
 * The user-facing prompts the commands need, as an interface: the extension passes one backed by
 * `vscode.window` (vscode/windowUi.ts); the real-editor suite passes a scripted one, so it can drive
 * every step of a command without clicking. Nothing here imports `vscode`.
 */

export interface PickItem {
  label: string;
  description?: string;
  detail?: string;
  /** Pre-selected in a multi-pick. */
  picked?: boolean;
}

export interface InputOptions {
  title: string;
  prompt?: string;
  value?: string;
  placeHolder?: string;
  password?: boolean;
  /** A message when the value is refused, undefined when it is fine. */
  validate?: (value: string) => string | undefined;
}

export interface PickOptions {
  title: string;
  placeHolder?: string;
}

export type MessageKind = "info" | "warning" | "error";

export interface MessageOptions {
  modal?: boolean;
  detail?: string;
  /**
   * A modal's dismiss button says this instead of "Cancel" (a secret shown once is closed, not
   * cancelled). Choosing it resolves to undefined, like any dismissal.
   */
  closeLabel?: string;
}

export interface Ui {
  /** Undefined when the user cancels. */
  input(options: InputOptions): Promise<string | undefined>;
  pickOne<T extends PickItem>(items: readonly T[], options: PickOptions): Promise<T | undefined>;
  pickMany<T extends PickItem>(items: readonly T[], options: PickOptions): Promise<T[] | undefined>;
  /** Resolves to the chosen action, or undefined when dismissed. */
  message(kind: MessageKind, text: string, options: MessageOptions, ...actions: string[]): Promise<string | undefined>;
}

/** Where commands report progress of their own; the output channel in the editor. Never secrets. */
export type Log = (line: string) => void;

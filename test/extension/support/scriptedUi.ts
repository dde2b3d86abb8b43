/**
 * A Ui that answers prompts from a script, for driving commands without clicking (unit suite and
 * the real-editor suite). Every prompt is recorded. Input answers go through the prompt's own
 * validation, so a script cannot type what the real input box would refuse.
 */
import type { InputOptions, MessageKind, MessageOptions, PickItem, PickOptions, Ui } from "../../../extension/src/ui/ui";

export type Answer = { input: string } | { pick: string } | { pickMany: string[] } | { message: string | undefined } | { cancel: true };

export interface RecordedPrompt {
  kind: "input" | "pick" | "pickMany" | "message";
  title: string;
  /** prompt or message text */
  text: string;
  value?: string;
  labels?: string[];
  picked?: string[];
  messageKind?: MessageKind;
  modal?: boolean;
  detail?: string;
  actions?: string[];
  /** A modal's dismiss button, when it is not VS Code's "Cancel". */
  closeLabel?: string;
}

export class ScriptedUi implements Ui {
  readonly prompts: RecordedPrompt[] = [];
  readonly problems: string[] = [];
  private readonly queue: Answer[] = [];

  /** Queues answers, in the order the prompts will come. */
  answer(...answers: Answer[]): this {
    this.queue.push(...answers);
    return this;
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Messages shown (any kind), as text. */
  messages(kind?: MessageKind): string[] {
    return this.prompts.filter((p) => p.kind === "message" && (!kind || p.messageKind === kind)).map((p) => p.text);
  }

  private next(kind: RecordedPrompt["kind"], title: string): Answer | undefined {
    const answer = this.queue.shift();
    if (!answer) {
      this.problems.push(`unexpected ${kind} "${title}": no answer scripted`);
      return undefined;
    }
    return answer;
  }

  async input(options: InputOptions): Promise<string | undefined> {
    this.prompts.push({
      kind: "input",
      title: options.title,
      text: options.prompt ?? "",
      ...(options.value !== undefined && { value: options.value }),
    });
    const answer = this.next("input", options.title);
    if (!answer || "cancel" in answer) return undefined;
    if (!("input" in answer)) {
      this.problems.push(`input "${options.title}" got ${JSON.stringify(answer)}`);
      return undefined;
    }
    const problem = options.validate?.(answer.input);
    if (problem) {
      this.problems.push(`input "${options.title}" refused "${answer.input}": ${problem}`);
      return undefined;
    }
    return answer.input;
  }

  async pickOne<T extends PickItem>(items: readonly T[], options: PickOptions): Promise<T | undefined> {
    this.prompts.push({ kind: "pick", title: options.title, text: options.placeHolder ?? "", labels: items.map((i) => i.label) });
    const answer = this.next("pick", options.title);
    if (!answer || "cancel" in answer) return undefined;
    if (!("pick" in answer)) {
      this.problems.push(`pick "${options.title}" got ${JSON.stringify(answer)}`);
      return undefined;
    }
    const item = items.find((i) => i.label === answer.pick);
    if (!item) this.problems.push(`pick "${options.title}": no item "${answer.pick}" in ${items.map((i) => i.label).join(" | ")}`);
    return item;
  }

  async pickMany<T extends PickItem>(items: readonly T[], options: PickOptions): Promise<T[] | undefined> {
    this.prompts.push({
      kind: "pickMany",
      title: options.title,
      text: options.placeHolder ?? "",
      labels: items.map((i) => i.label),
      picked: items.filter((i) => i.picked).map((i) => i.label),
    });
    const answer = this.next("pickMany", options.title);
    if (!answer || "cancel" in answer) return undefined;
    if (!("pickMany" in answer)) {
      this.problems.push(`pickMany "${options.title}" got ${JSON.stringify(answer)}`);
      return undefined;
    }
    const chosen = items.filter((i) => answer.pickMany.includes(i.label));
    if (chosen.length !== answer.pickMany.length)
      this.problems.push(`pickMany "${options.title}": missing some of ${answer.pickMany.join(", ")}`);
    return chosen;
  }

  /**
   * Modal messages, and messages offering actions when a message answer is next, take an answer;
   * other notifications are recorded and dismissed, as a user who ignores them would.
   */
  async message(kind: MessageKind, text: string, options: MessageOptions, ...actions: string[]): Promise<string | undefined> {
    this.prompts.push({
      kind: "message",
      title: "",
      text,
      messageKind: kind,
      modal: options.modal === true,
      detail: options.detail,
      actions,
      ...(options.closeLabel !== undefined && { closeLabel: options.closeLabel }),
    });
    const head = this.queue[0];
    const takesAnswer = options.modal === true || (actions.length > 0 && head !== undefined && "message" in head);
    if (!takesAnswer) return undefined;
    const answer = this.next("message", text);
    if (!answer || "cancel" in answer) return undefined;
    if (!("message" in answer)) {
      this.problems.push(`message "${text}" got ${JSON.stringify(answer)}`);
      return undefined;
    }
    if (answer.message !== undefined && !actions.includes(answer.message)) {
      this.problems.push(`message "${text}" has no action "${answer.message}" (has ${actions.join(", ")})`);
      return undefined;
    }
    return answer.message;
  }

  /** Throws when a prompt went unanswered, an answer was refused, or answers are left over. */
  assertDone(): void {
    const issues = [
      ...this.problems,
      ...(this.queue.length > 0 ? [`${this.queue.length} scripted answers left: ${JSON.stringify(this.queue)}`] : []),
    ];
    if (issues.length > 0) throw new Error(`Scripted UI: ${issues.join("; ")}`);
  }
}

// The extension is built in its own issue (token tree, create/edit/toggle/remove, git remote);
// until then the manifest exists so the workspace layout and launch configuration are in place.
export function activate(): void {}

export function deactivate(): void {}

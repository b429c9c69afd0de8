#!/usr/bin/env bash
# build-lint.sh builds the linters pinned in tools/golangci and tools/actionlint (one module each:
# their dependency graphs disagree on yaml versions) into a cache directory, named by version,
# and prints nothing when they are already there.
#
# Environment: LINT_BIN_DIR, default ${XDG_CACHE_HOME:-$HOME/.cache}/identity-lint/bin.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin_dir=${LINT_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/identity-lint/bin}
mkdir -p "$bin_dir"

build() {
	local name=$1 dir=$root/tools/$2 module=$3 pkg=$4
	local version
	version=$(cd "$dir" && go list -m -f '{{.Version}}' "$module")
	local out=$bin_dir/$name-$version
	if [[ ! -x $out ]]; then
		echo "build-lint: building $name $version" >&2
		(cd "$dir" && go build -trimpath -o "$out.tmp" "$pkg")
		mv "$out.tmp" "$out"
	fi
	ln -sf "$out" "$bin_dir/$name"
}

build golangci-lint golangci github.com/golangci/golangci-lint/v2 \
	github.com/golangci/golangci-lint/v2/cmd/golangci-lint
build actionlint actionlint github.com/rhysd/actionlint github.com/rhysd/actionlint/cmd/actionlint

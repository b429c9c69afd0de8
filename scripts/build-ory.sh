#!/usr/bin/env bash
# build-ory.sh builds Ory Hydra, Kratos and Keto from the Go modules pinned under tools/ and
# puts each binary, named by its version (hydra-v2.3.0), into a cache directory.
#
# Usage: scripts/build-ory.sh [hydra|kratos|keto ...]    (default: all three, one at a time)
#
# Environment:
#   ORY_BIN_DIR  where binaries go; default ${XDG_CACHE_HOME:-$HOME/.cache}/identity-ory/bin.
#                internal/localstack looks in the same place.
#   FORCE=1      rebuild even when the binary already exists.
#
# A binary that already exists is not rebuilt. Cold builds take minutes each on two cores.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin_dir=${ORY_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/identity-ory/bin}

# module path of each server's main package, and the package holding its version variable
declare -A main_pkg=(
	[hydra]=github.com/ory/hydra/v2
	[kratos]=github.com/ory/kratos
	[keto]=github.com/ory/keto
)
declare -A version_var=(
	[hydra]=github.com/ory/hydra/v2/driver/config.Version
	[kratos]=github.com/ory/kratos/driver/config.Version
	[keto]=github.com/ory/keto/internal/driver/config.Version
)

build_one() {
	local name=$1
	local pkg=${main_pkg[$name]:-}
	if [[ -z $pkg ]]; then
		echo "build-ory: unknown server '$name'; want hydra, kratos or keto" >&2
		return 2
	fi

	local dir=$root/tools/$name
	local version
	version=$(cd "$dir" && go list -m -f '{{.Version}}' "$pkg")
	local out=$bin_dir/$name-$version

	if [[ -x $out && ${FORCE:-0} != 1 ]]; then
		echo "build-ory: $out exists, skipping"
		return 0
	fi

	echo "build-ory: building $name $version into $out"
	local start=$SECONDS
	# Build into a temporary name first so an interrupted build never leaves a binary that
	# the skip check above would trust.
	(cd "$dir" && go build -trimpath \
		-ldflags "-s -w -X ${version_var[$name]}=$version" \
		-o "$out.tmp" "$pkg")
	mv "$out.tmp" "$out"
	echo "build-ory: built $name $version in $((SECONDS - start))s"
}

mkdir -p "$bin_dir"
if [[ $# -eq 0 ]]; then
	set -- hydra kratos keto
fi
for name in "$@"; do
	build_one "$name"
done

# Entry points. `make test` is the one test command; `.ci/run` calls it after installing what a
# fresh machine lacks.
.PHONY: test lint unit ory local linters

# Everything CI checks: formatting, vet, the Ory servers, unit and mock tests, and the end-to-end
# run of the real Hydra, Kratos and Keto on PostgreSQL. -count=1: a cached result would not
# exercise the servers again.
test: lint ory
	go test -count=1 ./...

LINT_BIN ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/identity-lint/bin

# Formatting, vet, golangci-lint (.golangci.yml) and actionlint on the CI workflow.
lint: linters
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	$(LINT_BIN)/golangci-lint run ./...
	$(LINT_BIN)/actionlint .github/workflows/*.yml

# Builds the pinned linters from tools/golangci and tools/actionlint into the cache; a no-op when already built.
linters:
	scripts/build-lint.sh

# Fast feedback: unit and mock tests only (no PostgreSQL, no Ory binaries).
unit:
	IDENTITY_E2E=0 go test ./...

# Builds the pinned Ory servers into the cache; a no-op when they are already built.
ory:
	scripts/build-ory.sh

# The local stack: real Hydra, Kratos and Keto on a throwaway PostgreSQL, checked end to end.
local: ory
	go run ./cmd/local

# Entry points. `make test` is the one test command; `.ci/run` calls it after installing what a
# fresh machine lacks.
.PHONY: test lint unit e2e ory local

# Everything CI checks: formatting, vet, the Ory servers, unit and mock tests, and the end-to-end
# run of the real Hydra, Kratos and Keto on PostgreSQL.
test: lint ory
	go test ./...

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	go vet ./...

# Fast feedback: unit and mock tests only (no PostgreSQL, no Ory binaries).
unit:
	IDENTITY_E2E=0 go test ./...

# Builds the pinned Ory servers into the cache; a no-op when they are already built.
ory:
	scripts/build-ory.sh

# The local stack: real Hydra, Kratos and Keto on a throwaway PostgreSQL, checked end to end.
local: ory
	go run ./cmd/local

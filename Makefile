# opsbot's build and test entry points. `make test` is the one command that
# runs the whole suite on a fresh machine; .ci/run calls it.

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# The tests' throwaway cluster is this checkout's own (keyed by its path),
# so `make test` in two checkouts at once never stops the other's cluster.
# storetest reads OPSBOT_TESTPG; plain `go test` uses $TMPDIR/opsbot-testpg.
TESTPG      := $(or $(TMPDIR),/tmp)/opsbot-testpg-$(shell printf '%s' "$(CURDIR)" | cksum | cut -d' ' -f1)
export OPSBOT_TESTPG := $(TESTPG)

.PHONY: deps run test lint unit fuzz bench build testdb-stop

## deps: install what a fresh machine lacks: PostgreSQL's binaries (opsbot
## and the tests start their own server from them) and, as root, the
## postgres user they run as.
deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v pg_config >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing PostgreSQL binaries"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null; \
		else \
			echo "No PostgreSQL binaries found: opsbot will download them (or: sudo apt-get install postgresql)"; \
		fi; \
	fi
	@if [ "$$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then \
		useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres; fi

## run: start opsbot (embedded PostgreSQL unless DATABASE_URL is set)
run: deps
	go run ./cmd/opsbot

## build: build bin/opsbot
build:
	go build -o bin/opsbot ./cmd/opsbot

## test: vet, staticcheck, every test against a real PostgreSQL, and a
## short run of every fuzz target
test: deps lint unit fuzz

lint:
	go vet ./...
	go run $(STATICCHECK) ./...

unit:
	@status=0; go test -count=1 -timeout 10m ./... || status=$$?; \
	$(MAKE) -s testdb-stop; exit $$status

## fuzz: run every fuzz target (func FuzzXxx in any *_test.go) for
## FUZZTIME each: a few seconds in CI, longer by hand (make fuzz FUZZTIME=5m).
## Each package's instrumented test binary is built once. A failing input is
## saved under the package's testdata/fuzz and replayed by `go test` from
## then on; what the fuzzer found interesting is kept in the Go build cache.
## A run that ends in "context deadline exceeded" without a failing input
## is Go 1.26's fuzztime race (golang/go#75804), not a finding.
FUZZTIME ?= 2s

fuzz:
	@bin=$$(mktemp -d); out=$$bin/out; status=0; cache=$$(go env GOCACHE)/fuzz; \
	for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		pkg=$$(go list "$$dir") || { status=1; continue; }; \
		if ! go test -c -fuzz=. -o "$$bin/pkg.test" "$$dir" >"$$out" 2>&1; then cat "$$out"; status=1; continue; fi; \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$dir"/*_test.go); do \
			printf 'fuzz %-22s %s\n' "$$dir" "$$t"; \
			if (cd "$$dir" && "$$bin/pkg.test" -test.run '^$$' -test.fuzz "^$$t\$$" -test.fuzztime $(FUZZTIME) \
				-test.fuzzcachedir "$$cache/$$pkg") >"$$out" 2>&1; then continue; fi; \
			if grep -q 'context deadline exceeded' "$$out" && ! grep -q 'Failing input written\|panic:' "$$out"; then \
				echo "  (the fuzztime race of golang/go#75804, fixed in Go 1.27: no failing input, ignored)"; continue; fi; \
			cat "$$out"; status=1; \
		done; \
	done; rm -rf "$$bin"; exit $$status

## bench: the benchmarks behind the targets in the issues
bench:
	go test -run '^$$' -bench . -benchtime 2s ./... ; status=$$?; $(MAKE) -s testdb-stop; exit $$status

## testdb-stop: stop the throwaway cluster the tests start
testdb-stop:
	@if [ -x "$(TESTPG)/pg_ctl" ] && [ -f "$(TESTPG)/pgdata/postmaster.pid" ]; then \
		"$(TESTPG)/pg_ctl" stop -s -m fast >/dev/null 2>&1 || true; fi

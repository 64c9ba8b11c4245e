# opsbot's build and test entry points. `make test` is the one command that
# runs the whole suite on a fresh machine; .ci/run calls it.

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
TESTPG      := $(or $(TMPDIR),/tmp)/opsbot-testpg

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
## A failing input is saved under the package's testdata/fuzz and replayed
## by `go test` from then on.
FUZZTIME ?= 1500ms

fuzz:
	@out=$$(mktemp); status=0; \
	for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
		dir=./$$(dirname $${f#./}); \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			printf 'fuzz %-22s %s\n' "$$dir" "$$t"; \
			if ! go test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) "$$dir" >"$$out" 2>&1; then \
				cat "$$out"; status=1; \
			fi; \
		done; \
	done; rm -f "$$out"; exit $$status

## bench: the benchmarks behind the targets in the issues
bench:
	go test -run '^$$' -bench . -benchtime 2s ./... ; status=$$?; $(MAKE) -s testdb-stop; exit $$status

## testdb-stop: stop the throwaway cluster the tests start
testdb-stop:
	@if [ -x "$(TESTPG)/pg_ctl" ] && [ -f "$(TESTPG)/pgdata/postmaster.pid" ]; then \
		"$(TESTPG)/pg_ctl" stop -s -m fast >/dev/null 2>&1 || true; fi

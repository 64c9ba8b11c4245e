# opsbot's build and test entry points. `make test` is the one command that
# runs the whole suite on a fresh machine; .ci/run calls it.

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
TESTPG      := $(or $(TMPDIR),/tmp)/opsbot-testpg

.PHONY: run test lint unit bench build testdb-stop

## run: start opsbot (embedded PostgreSQL unless DATABASE_URL is set)
run:
	go run ./cmd/opsbot

## build: build bin/opsbot
build:
	go build -o bin/opsbot ./cmd/opsbot

## test: vet, staticcheck and every test against a real PostgreSQL
test: lint unit

lint:
	go vet ./...
	go run $(STATICCHECK) ./...

unit:
	@status=0; go test -count=1 -timeout 10m ./... || status=$$?; \
	$(MAKE) -s testdb-stop; exit $$status

## bench: the benchmarks behind the targets in the issues
bench:
	go test -run '^$$' -bench . -benchtime 2s ./... ; status=$$?; $(MAKE) -s testdb-stop; exit $$status

## testdb-stop: stop the throwaway cluster the tests start
testdb-stop:
	@if [ -x "$(TESTPG)/pg_ctl" ] && [ -f "$(TESTPG)/pgdata/postmaster.pid" ]; then \
		"$(TESTPG)/pg_ctl" stop -s -m fast >/dev/null 2>&1 || true; fi

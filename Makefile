# The front door. `make run` starts the bot on the embedded default (SQLite,
# in-process state, built-in WeCom simulator); `make test` runs every test,
# including the Postgres and Redis suites against the servers below.
PG    ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
REDIS ?= redis://127.0.0.1:6379/0
TEST_ENV = SAFETYBOT_TEST_POSTGRES='$(PG)' SAFETYBOT_TEST_REDIS='$(REDIS)' SAFETYBOT_TEST_REQUIRE_SERVICES=1

.PHONY: run demo test test-short bench faults fuzz lint build

run:
	go run ./cmd/safetybot serve

demo:
	go run ./cmd/safetybot serve --demo

build:
	go build -o bin/safetybot ./cmd/safetybot

test:
	$(TEST_ENV) go test -count=1 -timeout 20m ./...

bench:
	$(TEST_ENV) go run ./cmd/bench

faults:
	$(TEST_ENV) go test -count=1 -tags faults -timeout 30m -run Fault -v ./faults/...

fuzz:
	go test -run '^$$' -fuzz FuzzParseMessage -fuzztime $${FUZZTIME:-10m} ./bot/wecom/
	go test -run '^$$' -fuzz FuzzParseEnvelope -fuzztime $${FUZZTIME:-10m} ./bot/wecom/

lint:
	go vet ./...
	@test -z "$$(gofmt -l .)" || (gofmt -l .; echo 'gofmt: the files above need formatting'; exit 1)

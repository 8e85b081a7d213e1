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

# The long fault tests (faults/long_test.go): kill -9 mid-letter, Redis and
# Postgres outages under load, WeCom API faults; each prints what it checked.
faults:
	$(TEST_ENV) go test -count=1 -tags faults -timeout 60m -run '^TestFault' -v ./faults/...

# Every fuzz target, one after another, each for FUZZTIME (default 10m).
fuzz:
	@set -e; for t in ./bot/wecom/:FuzzParseMessage ./bot/wecom/:FuzzParseEnvelope ./bot/wecom/:FuzzDecrypt \
		./messages/form/:FuzzStep ./roster/:FuzzReadEnterprises ./roster/:FuzzReadOfficials; do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz: $$name in $$pkg for $${FUZZTIME:-10m}"; \
		go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $${FUZZTIME:-10m} $$pkg; \
	done

lint:
	go vet ./...
	@test -z "$$(gofmt -l .)" || (gofmt -l .; echo 'gofmt: the files above need formatting'; exit 1)

# The shared gestures: make run, make test, make bench, make lint, make build.
GO ?= go

.PHONY: run demo sandbox test screenshots bench chaos fuzz lint build migrate db-stop backup restore clean

build:
	$(GO) build -o bin/ ./cmd/...

run:
	@scripts/run.sh

demo: build
	@scripts/demo.sh

# make sandbox: a test register for integrators (REGISTRY_SANDBOX=true) on
# 127.0.0.1:8081, with make demo's data (docs/integrating.md, "Sandbox").
sandbox: build
	@scripts/demo.sh sandbox

test:
	@scripts/test.sh

# make screenshots: make test, saving a screenshot of every browser step in
# each language (and the certificates' PDFs) in artifacts/screenshots.
screenshots:
	@REGISTRY_SCREENSHOTS=artifacts/screenshots scripts/test.sh

chaos:
	@scripts/chaos.sh

fuzz:
	@scripts/fuzz.sh

bench: build
	@scripts/bench.sh $(BENCH_FLAGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	cd deployments/check && $(GO) vet ./...

migrate: build
	@DATABASE_URL=$${DATABASE_URL:-$$(scripts/pg.sh start registry)} bin/registryd migrate

db-stop:
	@scripts/pg.sh stop

# make backup [BACKUP_TYPE=full|diff|incr]: a backup of the private cluster
# (full first, then incremental); make restore RESTORE_TARGET=<RFC 3339
# instant|latest>: a restore into a new data directory (docs/backups.md).
backup:
	@scripts/pg.sh backup $(BACKUP_TYPE)

restore:
	@scripts/pg.sh restore "$(RESTORE_TARGET)"

clean:
	rm -rf bin artifacts

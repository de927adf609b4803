# The shared gestures: make run, make test, make bench, make lint, make build.
GO ?= go

.PHONY: run demo test bench chaos fuzz lint build migrate db-stop clean

build:
	$(GO) build -o bin/ ./cmd/...

run:
	@scripts/run.sh

demo: build
	@scripts/demo.sh

test:
	@scripts/test.sh

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

clean:
	rm -rf bin artifacts

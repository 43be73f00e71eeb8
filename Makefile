# Nurture: `make run` brings up the whole local stack, `make test` runs every test.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
TEMPORAL := $(BIN)/temporal
TEMPORAL_CLI_VERSION := v1.5.1
HEY := $(BIN)/hey
HEY_VERSION := v0.1.5
WORKFLOWCHECK_VERSION := v0.6.0
# The OpenAPI linter (@redocly/cli, pinned in package.json / package-lock.json).
REDOCLY := node_modules/.bin/redocly
export PATH := $(BIN):$(PATH)

.PHONY: all build run test test-short bench chaos fuzz lint lint-openapi workflowcheck migrate clean tools chromium

all: build

# The Temporal CLI (dev server + Web UI), built from source through the Go module proxy.
$(TEMPORAL):
	@echo ">> installing Temporal CLI $(TEMPORAL_CLI_VERSION) into ./bin (first time: 2-3 minutes)"
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

# hey, the HTTP load generator behind `make bench`'s api figure, the same way.
$(HEY):
	@echo ">> installing hey $(HEY_VERSION) into ./bin"
	GOBIN=$(BIN) $(GO) install github.com/rakyll/hey@$(HEY_VERSION)

# npm ci installs exactly the locked versions into ./node_modules.
$(REDOCLY): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

tools: $(TEMPORAL) $(HEY)

# Debian's Chromium, which the console's browser tests drive (chromedp);
# installed with apt-get when /usr/bin/chromium is missing.
CHROMIUM := /usr/bin/chromium
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo ">> installing Debian's chromium (the console's browser tests)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; \
	fi

# api/openapi.yaml under Redocly's recommended-strict rules (redocly.yaml):
# any warning fails.
lint-openapi: $(REDOCLY)
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(REDOCLY) lint --format=stylish api/openapi.yaml

lint: lint-openapi

build:
	$(GO) build -o $(BIN)/ ./cmd/...

run: $(TEMPORAL) build
	@scripts/dev.sh

migrate: build
	$(BIN)/starter migrate up

# Every test, race detector on, real Postgres and a real Temporal dev server.
test: $(TEMPORAL) chromium workflowcheck lint-openapi
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodeCreateCampaign -fuzztime 30s ./api/
	$(GO) test -run '^$$' -fuzz FuzzParseLeadQuery -fuzztime 30s ./api/
	$(GO) test -run '^$$' -fuzz FuzzDecodeCreateClient -fuzztime 30s ./api/
	$(GO) test -run '^$$' -fuzz FuzzDecodeUpdateClient -fuzztime 30s ./api/
	$(GO) test -run '^$$' -fuzz FuzzDecodeJSON -fuzztime 30s ./api/
	$(GO) test -run '^$$' -fuzz FuzzEveryRoute -fuzztime 30s ./api/
	$(GO) test -run '^$$' -fuzz FuzzKeyword -fuzztime 30s ./api/
	$(GO) test -run '^$$' -fuzz FuzzName -fuzztime 30s ./internal/text/
	$(GO) test -run '^$$' -fuzz FuzzNormalize -fuzztime 30s ./internal/llm/
	$(GO) test -run '^$$' -fuzz FuzzTemplateAlwaysValid -fuzztime 30s ./internal/llm/
	$(GO) test -run '^$$' -fuzz FuzzAnalyze -fuzztime 30s ./internal/sms/
	$(GO) test -run '^$$' -fuzz FuzzWindowNext -fuzztime 30s ./internal/quiet/
	$(GO) test -run '^$$' -fuzz FuzzRenderNeverLeavesPlaceholders -fuzztime 30s ./internal/campaign/

workflowcheck:
	$(GO) run go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION) ./workflows/...

bench: $(TEMPORAL) $(HEY) build
	$(GO) run ./cmd/bench

# Failure scenarios against real processes (Temporal restarted, the worker's
# Postgres backends terminated, the worker SIGKILLed, two APIs + two workers):
# one `chaos: scenario=NAME result=ok|FAIL detail=...` line each, exit 1 on a
# FAIL. `go run ./cmd/chaos -list` names them, `-only NAME,...` picks some.
chaos: tools
	$(GO) run ./cmd/chaos

clean:
	rm -rf $(BIN) .data node_modules

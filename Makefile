# relutune: quick start is `make demo` then `make test`.
SHELL := /bin/bash
GO ?= go
STACK := scripts/stack.sh
DEMO_NAME ?= quickstart-$(shell date +%Y%m%d-%H%M%S)
export GOFLAGS ?= -buildvcs=false

.PHONY: all build up down status services demo test test-unit vet fmt-check bench bench-kernels bench-train bench-metrics clean

all: build

build: ## Build controller, worker and tunectl into ./bin
	@$(STACK) build

up: ## Start the local stack (Temporal dev server, Postgres, NATS, controller, 2 workers)
	@$(STACK) up

down: ## Stop what `make up` started
	@$(STACK) down

status:
	@$(STACK) status

services: ## Start only what the tests need: Temporal, Postgres, NATS
	@$(STACK) services

demo: up ## Run the quickstart study end to end and rank it
	@bin/tunectl submit examples/quickstart.yaml --name $(DEMO_NAME)
	@bin/tunectl watch $(DEMO_NAME)
	@echo
	@bin/tunectl top $(DEMO_NAME)
	@echo
	@bin/tunectl status $(DEMO_NAME) | sed -n '/ACTIVATION/,$$p'
	@echo
	@bin/tunectl compare $(DEMO_NAME)
	@echo
	@echo "Next:"
	@echo "  Temporal UI:  http://127.0.0.1:8233/namespaces/default/workflows?query=RelutuneStudy%3D%22$(DEMO_NAME)%22"
	@echo "  SQL:          bin/tunectl sql \"SELECT * FROM trial_ranking WHERE study = '$(DEMO_NAME)'\""
	@echo "                bin/tunectl sql \"SELECT activation, n, mean FROM activation_summary WHERE study = '$(DEMO_NAME)'\""
	@echo "  more queries: README.md (Querying results); stop everything with: make down"

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: services vet fmt-check ## All tests with the race detector, then the compute packages without it (assembly and pure-Go paths)
	$(GO) test -race -count=1 -timeout 20m ./...
	$(GO) test -count=1 ./kernels/... ./trainer/...
	$(GO) test -tags noasm -count=1 ./kernels/... ./trainer/...

test-unit: ## Tests that need no services
	RELUTUNE_SKIP_INTEGRATION=1 $(GO) test -count=1 ./...

bench: services ## Every performance ratio (kernels, trainer vs PyTorch, threads, ingest) in one table
	@bash scripts/bench.sh

bench-kernels: ## SIMD kernels against OpenBLAS and gonum (ratios)
	@bash scripts/bench-kernels.sh

bench-train: ## MNIST accuracy and training throughput against PyTorch
	@bash scripts/bench-train.sh

bench-metrics: services ## The sink's batched Postgres write against row-at-a-time inserts, and the sink against COPY-merge
	$(GO) test ./internal/store -run '^$$' -bench WriteMetrics -benchtime 40x
	$(GO) test ./internal/controller -run '^$$' -bench Ingest -benchtime 40000x

clean:
	rm -rf bin

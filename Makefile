# relutune: quick start is `make demo` then `make test`.
SHELL := /bin/bash
GO ?= go
STACK := scripts/stack.sh
DEMO_NAME ?= quickstart-$(shell date +%Y%m%d-%H%M%S)
export GOFLAGS ?= -buildvcs=false

.PHONY: all build up down status services demo test test-unit test-hosts vet fmt-check bench bench-kernels bench-train bench-metrics bench-orchestration bench-scale helm-chart-test clean

all: build

build: ## Build controller, worker and tunectl into ./bin
	@$(STACK) build

DASHBOARD ?= $(or $(RELUTUNE_DASHBOARD),127.0.0.1:8080)

up: ## Start the local stack (Temporal dev server, Postgres, NATS, controller, 2 workers, dashboard)
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
	@echo "  importance:   bin/tunectl importance $(DEMO_NAME)"
	@echo "  report:       bin/tunectl report $(DEMO_NAME) -o $(DEMO_NAME).html"
	@echo "  plots:        bin/tunectl plot $(DEMO_NAME) --kind curves -o curves.png   (kinds: tunectl plot --help)"
	@echo "  SQL:          bin/tunectl sql \"SELECT * FROM trial_ranking WHERE study = '$(DEMO_NAME)'\""
	@echo "                bin/tunectl sql \"SELECT activation, n, mean FROM activation_summary WHERE study = '$(DEMO_NAME)'\""
	@echo "  more queries: README.md (Querying results); stop everything with: make down"
	@echo
	@echo "Dashboard:      http://$(DASHBOARD)/study/$(DEMO_NAME)"

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: services vet fmt-check ## All tests with the race detector, then the compute packages without it (assembly and pure-Go paths)
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... | grep -v '/deploy$$')
	$(GO) test -count=1 ./deploy  # manifests and the chart: no concurrency, and Helm under -race costs minutes
	$(GO) test -count=1 ./kernels/... ./trainer/...
	$(GO) test -tags noasm -count=1 ./kernels/... ./trainer/...

test-hosts: ## Fault tests across worker hosts made of network namespaces (needs root and Postgres; starts its own Temporal and NATS)
	$(GO) vet -tags hosts ./internal/hosts
	RELUTUNE_TEMPORAL_BIN=$$($(STACK) temporal-binary | tail -n 1) $(GO) test -tags hosts -count=1 -timeout 10m ./internal/hosts

test-unit: ## Tests that need no services
	RELUTUNE_SKIP_INTEGRATION=1 $(GO) test -count=1 ./...

helm-chart-test: ## Render the Helm chart (deploy/helm/relutune) and check every manifest against the Kubernetes API types
	$(GO) test -count=1 ./deploy -run 'Chart|Worker|Helm'

bench: services ## Every performance ratio (kernels, trainer vs PyTorch, threads, ingest) in one table
	@bash scripts/bench.sh

PYTHON ?= /usr/bin/python3

.PHONY: bench-search
bench-search: ## Samplers on Branin, Hartmann-6, a conditional and a noisy mixed function, 20 seeds x 100 trials; Optuna beside them where installed
	$(GO) run ./scripts/benchsearch -seeds 20 -trials 100 -at 50,100
	@if $(PYTHON) -c 'import optuna' 2>/dev/null; then $(PYTHON) scripts/optuna_bench.py --seeds 20 --trials 100 --at 50,100; \
	else echo "Optuna not installed (Debian: apt-get install python3-optuna python3-cmaes python3-scipy): skipping its rows"; fi

bench-kernels: ## SIMD kernels against OpenBLAS and gonum (ratios)
	@bash scripts/bench-kernels.sh

bench-train: ## MNIST accuracy and training throughput against PyTorch
	@bash scripts/bench-train.sh

bench-orchestration: services ## What the orchestration costs a near-instant trial (Temporal dev server, in-process controller and workers)
	$(GO) test ./internal/integration -run '^$$' -bench Orchestration -benchtime 2x -timeout 15m

bench-metrics: services ## The sink's batched Postgres write against row-at-a-time inserts, and the sink against COPY-merge
	$(GO) test ./internal/store -run '^$$' -bench WriteMetrics -benchtime 40x
	$(GO) test ./internal/controller -run '^$$' -bench Ingest -benchtime 40000x

bench-scale: ## One study on 1, 2 and 4 worker hosts of the namespace harness (needs root): trials/hour, orchestration overhead, sink lag
	RELUTUNE_TEMPORAL_BIN=$$($(STACK) temporal-binary | tail -n 1) $(GO) test -tags hosts -count=1 -timeout 30m -run '^$$' -bench Scale -benchtime 1x ./internal/hosts
	$(GO) test -count=1 -run '^$$' -bench Put -benchtime 40x ./internal/ckptstore

clean:
	rm -rf bin

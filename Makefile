# The two commands a new user runs:
#   make demo   - bring the sandbox up and walk the Interlok guide's chain on it
#   make test   - unit tests, then the end-to-end tests against the real sandbox
# Both install what they need (Debian packages, tool binaries built from their
# Go modules and cached in ~/.cache/metricscale) on the first run.

SHELL       := /bin/bash
GO          ?= go
BIN         := bin
STATE       ?= .sandbox
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT      ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS     := -X github.com/metricscale/kubectl-metricscale/pkg/version.gitVersion=$(VERSION) -X github.com/metricscale/kubectl-metricscale/pkg/version.gitCommit=$(COMMIT)
E2E_TIMEOUT ?= 40m
DIST        ?= dist
FUZZTIME    ?= 20s
# e.g. FUZZFLAGS=-parallel=1 on a shared machine
FUZZFLAGS   ?= -fuzzminimizetime=10s

# Every Go command here builds in one configuration, the release's (static,
# -trimpath): the unit tests, the e2e plugin and the linux archive then share
# one compiled copy of their ~1,250 dependencies in Go's build cache, where
# three configurations compiled them three times on a cold run.
export CGO_ENABLED := 0
export GOFLAGS     := $(strip $(GOFLAGS) -trimpath)

.PHONY: all build tools tools-base test checks unit fuzz e2e dist image dist-test krew-template demo sandbox-up sandbox-down scenario external-metrics bench clean dashboards

all: build

# The plugin is linked statically (no cgo), as plugins are shipped: it runs
# on any Linux, and a static binary maps a third less memory than a dynamic
# one with its symbol tables.
# kubectl_complete-metricscale is what kubectl (1.26 or later) runs for
# `kubectl metricscale <TAB>`; it goes on PATH beside the plugin.
build: ## the plugin, its completion helper, the sidecar and the sandbox command
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/kubectl-metricscale ./cmd/kubectl-metricscale
	$(GO) build -o $(BIN)/kubectl_complete-metricscale ./cmd/kubectl_complete-metricscale
	$(GO) build -o $(BIN)/metricscale-sidecar ./cmd/metricscale-sidecar
	$(GO) build -o $(BIN)/sandbox ./hack/sandbox

# The dashboards' JSON under dashboards/ is generated from pkg/dashboards;
# a unit test fails until it is rerun after a change there.
dashboards: ## regenerate dashboards/*.json from pkg/dashboards
	$(GO) run ./hack/gen-dashboards -dir dashboards

tools: ## install Debian packages and build the sandbox binaries (cached)
	@hack/tools.sh >/dev/null

# All of them but KEDA's, which the e2e tests build beside themselves.
tools-base:
	@hack/tools.sh base >/dev/null

# The fuzz targets' seed corpora (f.Add and testdata/fuzz) run here too.
unit:
	$(GO) vet ./...
	$(GO) test -count=1 -shuffle=on $$($(GO) list ./... | grep -v -e /test/e2e -e /test/dist)

# Each fuzz target for FUZZTIME; a failing input is written under the
# package's testdata/fuzz, where plain go test runs it from then on.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzInsert$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./pkg/rules
	$(GO) test -run '^$$' -fuzz '^FuzzPropose$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./pkg/rules
	$(GO) test -run '^$$' -fuzz '^FuzzCheckQueries$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./pkg/rules
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeString$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./pkg/quantity
	$(GO) test -run '^$$' -fuzz '^FuzzParseCondition$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./pkg/watch
	$(GO) test -run '^$$' -fuzz '^FuzzRewriteDatasources$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./pkg/grafana
	$(GO) test -run '^$$' -fuzz '^FuzzParseDashboardSchema$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./pkg/grafana
	$(GO) test -run '^$$' -fuzz '^FuzzBuildPlan$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./pkg/sidecar
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./pkg/datasourcefile
	$(GO) test -run '^$$' -fuzz '^FuzzRefused$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./pkg/apierr
	$(GO) test -run '^$$' -fuzz '^FuzzReduce$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./pkg/migrate
	$(GO) test -run '^$$' -fuzz '^FuzzParseChecksums$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./hack/krew-manifest
	$(GO) test -run '^$$' -fuzz '^FuzzReadSeriesData$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./pkg/prometheus
	$(GO) test -run '^$$' -fuzz '^FuzzReadSeries$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./pkg/prometheus
	$(GO) test -run '^$$' -fuzz '^FuzzRelistFromIndex$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./pkg/simulate
	$(GO) test -run '^$$' -fuzz '^FuzzQuery$$' -fuzztime $(FUZZTIME) $(FUZZFLAGS) ./pkg/relax

# TestMain runs hack/tools.sh base itself (installing and building on first
# use), starts hack/tools.sh keda in the background if KEDA is not built,
# brings one sandbox up for the package and takes it down at the end.
# -parallel: the parallel tests (simulate's cases against the controller, the
# CPU tests, TestKEDA) mostly wait on the controller's syncs; Go starts them
# once every serial test has ended, which leaves KEDA's build that long.
e2e: build
	$(GO) test -count=1 -timeout $(E2E_TIMEOUT) -parallel 5 -v ./test/e2e/...

# Release archives for six platforms (and the sidecar's for linux), their
# checksums and the krew manifest, into DIST: make dist VERSION=v0.3.0
dist:
	@VERSION=$(VERSION) DIST=$(DIST) hack/dist.sh

# The sidecar's image without a container runtime: dist's two Linux sidecar
# binaries as an OCI archive, DIST/metricscale-sidecar_VERSION_oci.tar (the
# same digest wherever one commit is built): make image VERSION=v0.3.0, and
# PUSH=REGISTRY/REPOSITORY:TAG to push it too (~/.docker/config.json's
# credentials), or push the file with skopeo copy oci-archive:FILE docker://REF.
image:
	@VERSION=$(VERSION) DIST=$(DIST) PUSH=$(PUSH) PLATFORMS='linux/amd64 linux/arm64' hack/dist.sh

# .krew.yaml, the krew-release-bot's template, from hack/krew-manifest's;
# test/dist fails until it is rerun after a change there.
krew-template:
	$(GO) run ./hack/krew-manifest -release-bot -o .krew.yaml

# Builds dist at a test version, validates its krew manifest with krew's own
# validator and installs every platform's archive with the real krew, offline.
# DIST_PLATFORMS narrows it to some platforms: make test builds the two it
# executes (linux/amd64 natively, windows/amd64 under wine), a third of the
# cross-compiling; make dist-test, all six.
dist-test:
	DIST_PLATFORMS='$(DIST_PLATFORMS)' $(GO) test -count=1 -timeout 40m -v ./test/dist/...

# The unit tests, then the release test, at the lowest CPU priority, each
# one's wall time printed at its end: make test runs them in the background.
checks:
	@nice -n 19 hack/phases.sh unit dist-test

# Each phase's wall time printed at the end (also on a failure). On a first
# run the sandbox's binaries are built (tools-base): the e2e tests start as
# soon as they are and build KEDA's beside the tests that do not need it,
# while the unit and release tests (checks) take the CPU the builds and the
# sandbox leave, mostly waiting on the HPA controller.
test:
	@DIST_PLATFORMS='linux/amd64 windows/amd64' hack/phases.sh '&checks' tools-base e2e checks

# KWOK_NODES=N registers N kwok nodes (1,000 pods each) instead of two.
sandbox-up: build
	@$(BIN)/sandbox up --state-dir $(STATE) --bin-dir $$(hack/tools.sh) $(if $(KWOK_NODES),--kwok-nodes $(KWOK_NODES))

sandbox-down:
	@$(GO) build -o $(BIN)/sandbox ./hack/sandbox && $(BIN)/sandbox down --state-dir $(STATE)

scenario: build ## make scenario NAME=interlok
	@test -n "$(NAME)" || { echo "usage: make scenario NAME=interlok|promfake|kong|cpu"; exit 2; }
	@$(BIN)/sandbox scenario --state-dir $(STATE) $(NAME)

# Who serves external.metrics.k8s.io: TO=keda (as after a migration), adapter, none; without TO, show it.
external-metrics: build ## make external-metrics TO=keda
	@$(BIN)/sandbox external-metrics --state-dir $(STATE) $(TO)

demo: sandbox-up
	@hack/demo.sh $(STATE)

clean:
	rm -rf $(BIN)

# BENCH_FLAGS='--sizes 1000,5000' measures each size; bench removes what it
# created at the end (--keep leaves the namespaces for a later run).
# Then simulate's decisions for a fleet of 1,000 HPAs, ten minutes of syncs
# each (target: under a second of CPU).
bench: build sandbox-up ## doctor -A on 1,000 HPAs in 200 namespaces, beside kubectl describe hpa -A
	$(GO) run ./hack/bench --state-dir $(STATE) --plugin $(BIN)/kubectl-metricscale --sidecar $(BIN)/metricscale-sidecar $(BENCH_FLAGS)
	$(GO) test -run '^$$' -bench BenchmarkRunFleet -benchtime 5x ./pkg/whatif

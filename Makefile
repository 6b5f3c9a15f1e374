# kubectl winnet — build, test and demo. `make help` lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

# Semantic version (krew requires vX.Y.Z): a release tag, else v0.0.0-<commit>.
VERSION ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null || echo v0.0.0-$$(git rev-parse --short HEAD 2>/dev/null || echo dev))
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
COMMIT_DATE ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
LDFLAGS := -s -w -X github.com/kubectl-winnet/winnet/pkg/cmd.Version=$(VERSION) -X github.com/kubectl-winnet/winnet/pkg/cmd.Commit=$(COMMIT) -X github.com/kubectl-winnet/winnet/pkg/cmd.BuildDate=$(COMMIT_DATE)
OUT := bin
E2E_OUT := _output/e2e
export VERSION

KREW_VERSION := v0.4.3

# Most the gzipped windows/amd64 collector may weigh: what it measures (1.69 MB) and about 5%,
# a guard against accidental bloat (the contract is 2 MB). cmd/winnet-collector/size_test.go
# holds the same number, checks it and says why.
COLLECTOR_BUDGET := 1780000

# Fuzz targets as package:Func; `make fuzz` runs each for FUZZTIME (a short run in `make test`,
# longer by hand: make fuzz FUZZTIME=60s). Minimizing a new input is capped at a few seconds:
# the default minute spent on a 16 KB seed stalls a short run.
FUZZ_TARGETS := ./pkg/wire:FuzzDecoder ./pkg/target:FuzzParse ./pkg/pathplan:FuzzParseTarget \
	./pkg/podexec:FuzzParsers ./pkg/snapshot:FuzzBuilder ./pkg/ingest:FuzzRecognize \
	./pkg/ingest:FuzzCollection ./pkg/analyze:FuzzAnalyzeDump ./pkg/bundle:FuzzReadArchive ./pkg/collector/probe:FuzzParseReply \
	./pkg/collector/redact:FuzzText ./pkg/collector/redact:FuzzPlanted ./pkg/collector/winsrc:FuzzParseEventXML \
	./hack/e2e/simnode/wincmd:FuzzCmdScript
FUZZTIME ?= 8s

.PHONY: help build collector plugin e2e-plugin test unit vet windows-vet e2e browser-test wine-smoke demo bench accuracy fuzz cluster dist krew-validate krew-install goreleaser-check lint-workflows clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: collector plugin ## build kubectl-winnet (with the Windows collector embedded) into bin/

collector: ## cross-build the windows/amd64 collector and embed it
	hack/embed-collector.sh windows

plugin:
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o $(OUT)/kubectl-winnet ./cmd/kubectl-winnet
	CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o $(OUT)/kubectl_complete-winnet ./cmd/kubectl_complete-winnet
	@echo "built $(OUT)/kubectl-winnet $(VERSION); put $(OUT) on PATH and run: kubectl winnet --help"

e2e-plugin: ## build the plugin with a Linux collector, for the simulated Windows node
	hack/embed-collector.sh linux
	CGO_ENABLED=0 go build -trimpath -tags winnet_linux_collector -ldflags '$(LDFLAGS)' -o $(E2E_OUT)/kubectl-winnet ./cmd/kubectl-winnet
	CGO_ENABLED=0 go build -trimpath -o $(E2E_OUT)/kubectl_complete-winnet ./cmd/kubectl_complete-winnet

browser-test: e2e-plugin ## open the HTML reports in headless Chromium (installed by hack/chromium.sh): nothing loaded or run, the path diagram laid out
	hack/chromium.sh
	WINNET_BROWSER_PLUGIN=$(CURDIR)/$(E2E_OUT)/kubectl-winnet go test -tags browser -count=1 ./hack/browser/

vet: ## gofmt and go vet, also for GOOS=windows
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...
	go vet -tags browser ./hack/browser/
	GOOS=windows GOARCH=amd64 go vet ./cmd/winnet-collector/... ./pkg/collector/... ./pkg/wire/... ./pkg/winevent/... ./pkg/nodecmd/...

windows-vet: vet

unit: ## unit tests (no cluster)
	go test ./...

fuzz: ## run every fuzz target for FUZZTIME (default 8s; seeds are committed or built from testdata)
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
	  hack/fuzz.sh $$pkg $$fn $(FUZZTIME) || exit 1; \
	done

cluster: ## build (once, cached) the real kube-apiserver and etcd for e2e
	hack/build-cluster.sh >/dev/null

# -p 1: each e2e package runs its own API server and simulated nodes; side by side on two cores
# they would starve each other's timing-sensitive fault tests.
e2e: cluster e2e-plugin ## end-to-end tests against a real kube-apiserver and simulated Windows nodes (one cluster of 100 for the many-node tests)
	WINNET_E2E_PLUGIN=$(CURDIR)/$(E2E_OUT)/kubectl-winnet go test -tags e2e -p 1 -count=1 -timeout 20m ./hack/e2e/...

dist: ## release archives for every krew platform and the krew manifest, in _output/dist
	hack/krew-manifest.sh

krew-validate: dist ## check the generated krew manifest with krew's own validator
	go run sigs.k8s.io/krew/cmd/validate-krew-manifest@$(KREW_VERSION) -manifest _output/dist/winnet.yaml -skip-install -logtostderr=false -stderrthreshold=ERROR

krew-install: dist ## install the built plugin with the real krew binary into a temp KREW_ROOT and run it through kubectl
	KREW_VERSION=$(KREW_VERSION) hack/krew-install-test.sh

goreleaser-check: collector dist ## goreleaser check, then a snapshot release compared with make dist: same archive names, files and bytes; its krew manifest validated and installed
	KREW_VERSION=$(KREW_VERSION) hack/goreleaser-check.sh

lint-workflows: ## lint .github/workflows with actionlint (and shellcheck on run: blocks)
	hack/lint-workflows.sh

wine-smoke: ## run the windows/amd64 collector under Wine (installs wine64 and mingw-w64 as root once)
	hack/wine-smoke.sh

test: vet collector unit fuzz e2e browser-test wine-smoke krew-validate krew-install goreleaser-check lint-workflows ## everything CI runs: vet, unit, a short fuzz run, e2e, the HTML report in headless Chromium, the Wine smoke test, the krew manifest and a krew install, goreleaser against make dist, and the workflows linted
	@size=$$(stat -c %s pkg/embedded/bin/winnet-collector.tar.gz); echo "embedded collector: $$size bytes gzipped (budget $(COLLECTOR_BUDGET))"; \
	  test $$size -le $(COLLECTOR_BUDGET) || { echo "the gzipped windows collector is $$size bytes, over its budget of $(COLLECTOR_BUDGET): find what grew with go tool nm -size -sort size (see TestCollectorSize in cmd/winnet-collector/size_test.go) and slim it, or raise COLLECTOR_BUDGET there and here if the growth is worth it"; exit 1; }

demo: cluster e2e-plugin ## start a local API server and a simulated Windows node with a broken scenario, and diagnose it
	go run ./hack/demo --plugin $(CURDIR)/$(E2E_OUT)/kubectl-winnet

bench: accuracy cluster e2e-plugin ## benchmarks (speed and memory targets, one node vs 100 through the real API server), and the analyzer's public corpus score
	go test -run '^$$' -bench . -benchmem ./...
	WINNET_E2E_PLUGIN=$(CURDIR)/$(E2E_OUT)/kubectl-winnet go test -tags e2e -count=1 -run '^$$' -bench Fleet ./hack/e2e/fleet

accuracy: ## score the analyzer on the public corpus of real dumps (pkg/analyze/testdata/public)
	go test -count=1 -run '^TestPublicCorpus$$' -v ./pkg/analyze/ | grep -E '^\s+(PASS|FAIL) |public corpus score|--- FAIL|^ok|^FAIL'

clean:
	rm -rf $(OUT) _output pkg/embedded/bin/winnet-collector.* pkg/embedded/bin-linux/winnet-collector.*

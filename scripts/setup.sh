#!/usr/bin/env bash
# Idempotent bootstrap: pinned Temporal CLI and nats-server built from their Go
# modules into a cache outside the clone, the Temporal server, its SQL schema
# tool and schema files (and the Web UI server where it builds) for cluster
# mode, Debian packages the runbooks drive (haproxy, rsync), PostgreSQL, and chromium for the console's browser tests,
# node_modules from package-lock.json, and the CLI bundle (dist/cli-bundle).
# Says what it built and what it reused.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
source "$ROOT/scripts/versions.env"
NODE_MIN_VERSION="${NODE_MIN_VERSION_OVERRIDE:-$NODE_MIN_VERSION}"
CACHE="${RUNBOOK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/self-healing-runbooks}"
mkdir -p "$CACHE"

say() { printf 'setup: %s\n' "$*"; }
fail() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# version_ge A B: true when dotted version A >= B.
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

check_node() {
  command -v node >/dev/null 2>&1 || fail "Node.js is not installed. Install Node.js >= $NODE_MIN_VERSION (https://nodejs.org or your package manager) and rerun."
  command -v npm >/dev/null 2>&1 || fail "npm is not installed. Install npm (it ships with Node.js >= $NODE_MIN_VERSION) and rerun."
  local v; v="$(node -p 'process.versions.node')"
  version_ge "$v" "$NODE_MIN_VERSION" || fail "Node.js $v is too old: need >= $NODE_MIN_VERSION. Upgrade Node.js and rerun."
}

check_go() {
  command -v go >/dev/null 2>&1 || fail "Go is not installed, and it is needed once to build the Temporal CLI and nats-server. Install Go >= $GO_MIN_VERSION (https://go.dev/dl or apt-get install golang) and rerun."
  local v; v="$(go env GOVERSION | sed 's/^go//')"
  version_ge "$v" "$GO_MIN_VERSION" || fail "Go $v is too old: need >= $GO_MIN_VERSION. Upgrade Go and rerun."
}

# build_go_tool NAME MODULE VERSION BINARY: go install into $CACHE/NAME-VERSION once.
build_go_tool() {
  local name="$1" module="$2" version="$3" binary="$4"
  local dir="$CACHE/$name-$version"
  if [ -x "$dir/$binary" ]; then
    say "reused $name $version ($dir/$binary)"
    return
  fi
  check_go
  say "building $name $version from $module (first run only, takes a few minutes)"
  local tmp; tmp="$(mktemp -d "$CACHE/.build-$name.XXXXXX")"
  if ! GOBIN="$tmp" go install "$module@$version"; then
    say "$name did not build with $(go env GOVERSION); retrying with GOTOOLCHAIN=go1.25.0"
    GOTOOLCHAIN=go1.25.0 GOBIN="$tmp" go install "$module@$version" || { rm -rf "$tmp"; fail "could not build $module@$version"; }
  fi
  rm -rf "$dir"
  mv "$tmp" "$dir"
  say "built $name $version ($dir/$binary)"
}

# go_mod_dir MODULE VERSION TOOLCHAIN: the module's source directory in the Go module cache.
go_mod_dir() {
  GOTOOLCHAIN="$3" go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

# The Temporal server and temporal-sql-tool from one module, plus the PostgreSQL
# schema files the tool applies, into $CACHE/temporal-server-VERSION once.
build_temporal_server() {
  local version="$TEMPORAL_SERVER_VERSION" toolchain="$TEMPORAL_SERVER_GOTOOLCHAIN"
  local dir="$CACHE/temporal-server-$version"
  if [ -x "$dir/temporal-server" ] && [ -x "$dir/temporal-sql-tool" ] && [ -d "$dir/schema/postgresql/v12/temporal/versioned" ] && [ -d "$dir/schema/postgresql/v12/visibility/versioned" ]; then
    say "reused temporal-server $version and temporal-sql-tool ($dir)"
    return
  fi
  check_go
  say "building temporal-server $version and temporal-sql-tool with $toolchain (first run only, takes ten minutes or more)"
  local tmp; tmp="$(mktemp -d "$CACHE/.build-temporal-server.XXXXXX")"
  GOTOOLCHAIN="$toolchain" GOBIN="$tmp" go install "go.temporal.io/server/cmd/server@$version" "go.temporal.io/server/cmd/tools/sql@$version" \
    || { rm -rf "$tmp"; fail "could not build go.temporal.io/server@$version with $toolchain"; }
  mv "$tmp/server" "$tmp/temporal-server"
  mv "$tmp/sql" "$tmp/temporal-sql-tool"
  local src; src="$(go_mod_dir go.temporal.io/server "$version" "$toolchain")"
  [ -d "$src/schema/postgresql/v12" ] || { rm -rf "$tmp"; fail "go.temporal.io/server@$version has no schema/postgresql/v12 (looked in '$src')"; }
  mkdir -p "$tmp/schema/postgresql"
  cp -R "$src/schema/postgresql/v12" "$tmp/schema/postgresql/v12"
  # The module cache is read-only; the copy must not be, or the next rebuild cannot remove it.
  chmod -R u+w "$tmp/schema"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  say "built temporal-server $version and temporal-sql-tool ($dir)"
}

# The Web UI server is optional: a cluster runs without it, so a failed build is
# reported and remembered (until the pinned version changes) instead of failing setup.
build_temporal_ui_server() {
  local version="$TEMPORAL_UI_SERVER_VERSION" toolchain="$TEMPORAL_SERVER_GOTOOLCHAIN"
  local dir="$CACHE/temporal-ui-server-$version"
  if [ -x "$dir/temporal-ui-server" ]; then
    say "reused temporal-ui-server $version ($dir/temporal-ui-server)"
    return
  fi
  if [ -f "$CACHE/temporal-ui-server-$version.failed" ]; then
    say "skipped temporal-ui-server $version: its build failed before (see $CACHE/temporal-ui-server-$version.failed; delete it to try again)"
    return
  fi
  check_go
  say "building temporal-ui-server $version with $toolchain (first run only)"
  local tmp; tmp="$(mktemp -d "$CACHE/.build-temporal-ui-server.XXXXXX")"
  if ! GOTOOLCHAIN="$toolchain" GOBIN="$tmp" go install "github.com/temporalio/ui-server/v2/cmd/server@$version" >"$tmp/build.log" 2>&1; then
    mv "$tmp/build.log" "$CACHE/temporal-ui-server-$version.failed"
    rm -rf "$tmp"
    say "skipped temporal-ui-server $version: it did not build (see $CACHE/temporal-ui-server-$version.failed); clusters run without the Web UI"
    return
  fi
  rm -f "$tmp/build.log"
  mv "$tmp/server" "$tmp/temporal-ui-server"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  say "built temporal-ui-server $version ($dir/temporal-ui-server)"
}

install_debian_packages() {
  local missing=()
  command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
  command -v rsync >/dev/null 2>&1 || missing+=(rsync)
  # Cluster mode runs this major's own binaries (never the system service).
  [ -x "/usr/lib/postgresql/$POSTGRES_MAJOR/bin/postgres" ] || missing+=("postgresql-$POSTGRES_MAJOR")
  # The console's browser tests drive Debian's headless Chromium (never a downloaded browser).
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  if [ ${#missing[@]} -eq 0 ]; then
    say "reused haproxy $(haproxy -v 2>/dev/null | head -n1 | awk '{print $3}'), rsync $(rsync --version | head -n1 | awk '{print $3}'), postgresql $("/usr/lib/postgresql/$POSTGRES_MAJOR/bin/postgres" --version | awk '{print $3}'), chromium $(dpkg-query -W -f='${Version}' chromium 2>/dev/null)"
    return
  fi
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    fail "missing ${missing[*]}: install them with your package manager (for example: sudo apt-get install ${missing[*]}) and rerun."
  fi
  say "installing ${missing[*]} from Debian packages"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  say "installed ${missing[*]}"
}

install_node_modules() {
  local stamp="$ROOT/node_modules/.setup-lock-hash"
  local want; want="$(sha256sum "$ROOT/package-lock.json" | awk '{print $1}')"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    say "reused node_modules (package-lock.json unchanged)"
    return
  fi
  say "installing node_modules with npm ci"
  # Some registries serve only the native @swc/esbuild builds for common
  # platforms, which npm ci reports as a lock mismatch; npm install then
  # installs the same locked versions without the unavailable optional ones.
  if ! (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error >"$CACHE/npm-ci.log" 2>&1); then
    say "npm ci refused the lock file (see $CACHE/npm-ci.log); installing the locked versions with npm install"
    (cd "$ROOT" && npm install --no-audit --no-fund --no-save --loglevel=error)
  fi
  echo "$want" >"$stamp"
  say "installed node_modules"
}

# The CLI runs from one pre-built JavaScript file (scripts/bundle-cli.ts);
# bin/runbook rebuilds it whenever a file it was built from changed, so
# running it once here leaves a fresh bundle for every later call.
build_cli_bundle() {
  local bundle="$ROOT/dist/cli-bundle/runbook.js" before after
  before="$(head -n 1 "$bundle" 2>/dev/null | cksum || true)"
  RUNBOOK_CLI_BUNDLE="" RUNBOOK_CLI_FROM_SOURCE="" node "$ROOT/bin/runbook" help >/dev/null || fail "bin/runbook help failed"
  after="$(head -n 1 "$bundle" 2>/dev/null | cksum || true)"
  if [ -f "$bundle" ] && [ "$before" = "$after" ]; then
    say "reused the CLI bundle ($bundle)"
  else
    say "built the CLI bundle ($bundle)"
  fi
}

check_node
build_go_tool temporal github.com/temporalio/cli/cmd/temporal "$TEMPORAL_CLI_VERSION" temporal
build_go_tool nats-server github.com/nats-io/nats-server/v2 "$NATS_SERVER_VERSION" nats-server
build_temporal_server
build_temporal_ui_server
install_debian_packages
install_node_modules
build_cli_bundle
say "ready (tools cached in $CACHE)"

# The JavaScript tools of the test suite: ESLint (pinned in package.json and package-lock.json)
# installed once into the cache, reinstalled only when the lock file changes, and linked into the
# clone as node_modules (ignored by git) so that eslint.config.js resolves its imports. The
# browser code itself has no build step: these are the linter and Node's own test runner.
NODE_TOOLS="$INVOKER_CACHE/npm"

ensure_node_tools() {
  command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
  # ESLint 9 runs on Debian 12's own Node.js (18.19): a fresh machine needs nothing newer.
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 18 || (a === 18 && b >= 18) ? 0 : 1)' \
    || die "Node.js 18.18 or newer is required for ESLint (found $(node --version))"
  local stamp; stamp=$(file_hash "$INVOKER_ROOT/package.json" "$INVOKER_ROOT/package-lock.json")
  if [ "$(cat "$NODE_TOOLS/.lock-stamp" 2>/dev/null)" != "$stamp" ]; then
    log "installing the pinned JavaScript tools (package-lock.json) into $NODE_TOOLS"
    mkdir -p "$NODE_TOOLS"
    cp "$INVOKER_ROOT/package.json" "$INVOKER_ROOT/package-lock.json" "$NODE_TOOLS/"
    (cd "$NODE_TOOLS" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || die "npm ci failed"
    echo "$stamp" >"$NODE_TOOLS/.lock-stamp"
  fi
  # A node_modules of the clone's own (someone ran `npm ci` here) is used as it is.
  [ -e "$INVOKER_ROOT/node_modules" ] && [ ! -L "$INVOKER_ROOT/node_modules" ] && return 0
  ln -sfn "$NODE_TOOLS/node_modules" "$INVOKER_ROOT/node_modules"
}

# js_lint: ESLint on the browser code and its tests (eslint.config.js).
js_lint() { ensure_node_tools && "$INVOKER_ROOT/node_modules/.bin/eslint" --max-warnings 0 .; }

# js_test: the unit tests of the editor's pure modules, with Node's built-in runner.
js_test() { ensure_node_tools && node --test "$INVOKER_ROOT"/tests/js/*.test.js; }

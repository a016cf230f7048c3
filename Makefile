# vivus-consent: `make run` and `make test` work on a fresh machine; every
# tool they need is installed here, idempotently, and skipped when present.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
WBG_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export CHROMEDRIVER := /usr/bin/chromedriver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
WASM_TARGET := wasm32-unknown-unknown
# Firefox's WebDriver, built from crates.io (Debian has no package of it).
GECKODRIVER_VERSION := 0.37.1
# Both wasm builds (the SDK, the first-paint build) land here; `pkg` runs wasm-bindgen on each
# right after building it.
CARGO_TARGET := $(or $(CARGO_TARGET_DIR),target)
# The wasm builds (only they) use a pinned nightly: build-std with -Cpanic=immediate-abort drops
# panic formatting from every build (brotli: runtime -6.4 kB, interactive stage -6.9 kB, first
# stage -2.6 kB, measured at the three-stage split). The service and every test stay on stable.
WASM_TOOLCHAIN := nightly-2026-10-01
WASM_CARGO := RUSTFLAGS='-Zunstable-options -Cpanic=immediate-abort' cargo +$(WASM_TOOLCHAIN) build \
  -Zbuild-std=std,panic_abort --target-dir $(CARGO_TARGET)/wasm-nightly
WASM_OUT := $(CARGO_TARGET)/wasm-nightly/$(WASM_TARGET)/wasm-release/vivus_consent.wasm
WBG_FLAGS := --target web --remove-producers-section --omit-default-module-path --encode-into always --out-dir pkg
PG_URL ?= postgres://postgres:postgres@127.0.0.1:5432/vivus_consent_test
PORT ?= 8080

.PHONY: help tools tool-rust tool-wasm-bindgen tool-apt tool-geckodriver tool-node tool-postgres \
        pkg run server-release test-lint test-deps test-crash test-package test test-native test-wasm-node test-wasm-browser \
        test-node test-e2e bench fuzz clean

help:
	@echo "make run    build the SDK and start the consent service with the demo on http://127.0.0.1:$(PORT)"
	@echo "make test   run every test (native, server on SQLite and PostgreSQL, wasm in Node, Chromium and Firefox, end to end in Chromium, Firefox and WebKit)"
	@echo "make bench  the browser and service benchmarks (writes bench/RESULTS.md)"
	@echo "make fuzz   run each fuzz target for its fixed budget"

# ---- tools -----------------------------------------------------------------

tools: tool-rust tool-wasm-bindgen tool-apt tool-geckodriver tool-node

tool-rust:
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup +$(WASM_TOOLCHAIN) component list --installed 2>/dev/null | grep -q '^rust-src' || \
	  rustup toolchain install $(WASM_TOOLCHAIN) --profile minimal --component rust-src

tool-wasm-bindgen:
	@if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $(WBG_VERSION)"; then \
	  echo "installing wasm-bindgen-cli $(WBG_VERSION)"; \
	  cargo install wasm-bindgen-cli --version =$(WBG_VERSION) --force; \
	fi

# The three engines the browser tests run in, from Debian: Chromium and its driver (one apt
# command, so their versions match), Firefox ESR, and WebKitGTK's WebDriver, which starts its
# MiniBrowser under Xvfb. python3 runs the policy extractor's check (crates/core/tests/policy.rs).
APT_TOOLS := chromium:chromium chromedriver:chromium-driver firefox-esr:firefox-esr \
             WebKitWebDriver:webkit2gtk-driver Xvfb:xvfb python3:python3
tool-apt:
	@missing=""; for tool in $(APT_TOOLS); do \
	  command -v $${tool%%:*} >/dev/null || missing="$$missing $${tool#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  $(SUDO) apt-get -o DPkg::Lock::Timeout=900 update -qq; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get -o DPkg::Lock::Timeout=900 install -y -qq $$missing >/dev/null; \
	fi

tool-geckodriver:
	@if ! geckodriver --version 2>/dev/null | grep -qx "geckodriver $(GECKODRIVER_VERSION)"; then \
	  echo "installing geckodriver $(GECKODRIVER_VERSION)"; \
	  cargo install geckodriver --version =$(GECKODRIVER_VERSION) --locked --force; \
	fi

tool-postgres:
	@if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then \
	  $(SUDO) apt-get -o DPkg::Lock::Timeout=900 update -qq; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get -o DPkg::Lock::Timeout=900 install -y -qq postgresql >/dev/null; \
	fi
	@bash scripts/postgres-up.sh

# npm ci only when the lockfile changed since the last install.
tool-node: node_modules/.installed
node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# ---- build -----------------------------------------------------------------

pkg: tool-rust tool-wasm-bindgen tool-node
	@# Four wasm builds of the root crate (see src/lib.rs): the runtime every page view loads,
	@# the interactive stage loaded on first need, the returning visitor's stage that runs a
	@# stored consent's tags first, and the first-paint build that draws the banner of a first
	@# visit (pkg/vivus-consent.js loads them).
	@# wasm-bindgen: browsers ignore the producers and target_features sections (128 B brotli);
	@# every glue gets its wasm from the entry (no default path) and every browser that runs
	@# the wasm has TextEncoder.encodeInto (no fallback): 70 B brotli per glue.
	$(WASM_CARGO) -p vivus-consent --lib --target $(WASM_TARGET) --profile wasm-release --no-default-features --features runtime
	wasm-bindgen $(WBG_FLAGS) --out-name vivus_consent $(WASM_OUT)
	$(WASM_CARGO) -p vivus-consent --lib --target $(WASM_TARGET) --profile wasm-release --no-default-features --features ui
	wasm-bindgen $(WBG_FLAGS) --out-name vivus_consent_ui $(WASM_OUT)
	$(WASM_CARGO) -p vivus-consent --lib --target $(WASM_TARGET) --profile wasm-release --no-default-features --features returning
	wasm-bindgen $(WBG_FLAGS) --out-name vivus_consent_returning $(WASM_OUT)
	$(WASM_CARGO) -p vivus-consent --lib --target $(WASM_TARGET) --profile wasm-release --no-default-features --features boot
	wasm-bindgen $(WBG_FLAGS) --out-name vivus_consent_boot $(WASM_OUT)
	@# The SDK's type declarations are pkg/index.d.ts; the stages' own exports are private.
	rm -f pkg/vivus_consent.d.ts pkg/vivus_consent_bg.wasm.d.ts pkg/vivus_consent_ui.d.ts pkg/vivus_consent_ui_bg.wasm.d.ts \
	  pkg/vivus_consent_returning.d.ts pkg/vivus_consent_returning_bg.wasm.d.ts \
	  pkg/vivus_consent_boot.d.ts pkg/vivus_consent_boot_bg.wasm.d.ts
	@# wasm-opt: --low-memory-unused holds for Rust's wasm (the stack sits below 1 MiB and
	@# grows down to 0, the data above it), letting constant offsets fold into loads.
	@# The glues: short import names first (they must match the wasm's), then minified
	@# (terser: 0.7-1.2 kB brotli less per stage than stripping their comments; class names
	@# and the wasm's export names stay; `initSync`, which the entry never calls, goes).
	@for out in vivus_consent vivus_consent_ui vivus_consent_returning vivus_consent_boot; do \
	  set -x; \
	  wasm-opt -Oz --low-memory-unused --strip-target-features pkg/$${out}_bg.wasm -o pkg/$${out}_bg.wasm; \
	  node scripts/short-imports.mjs pkg/$$out.js pkg/$${out}_bg.wasm; \
	  node scripts/minify.mjs --glue pkg/$$out.js; \
	  node --check pkg/$$out.js; \
	done
	@# The entry every page view loads first, built from its readable source.
	node scripts/minify.mjs pkg/src/vivus-consent.js pkg/vivus-consent.js
	node --check pkg/vivus-consent.js
	@# The policy text is fetched only when the viewer opens, so it ships beside the wasm, not in it.
	@rm -rf pkg/policy && mkdir -p pkg/policy && cp -r crates/core/policy/v[0-9]* pkg/policy/
	@cp LICENSE-MIT LICENSE-APACHE pkg/
	@node scripts/sizes.mjs pkg

run: pkg
	@echo "The demo: http://127.0.0.1:$(PORT)/   The operator console: http://127.0.0.1:$(PORT)/operator/"
	@echo "Sign in to the console with an operator token; once the service is up, make one in another terminal:"
	@echo "  cargo run --release -p vivus-consent-server -- operator add YOUR-NAME"
	cargo run --release -p vivus-consent-server -- --listen 127.0.0.1:$(PORT) --static-dir .

# ---- tests -----------------------------------------------------------------

test: tools tool-postgres pkg test-lint test-deps test-native test-wasm-node test-wasm-browser test-node server-release test-crash test-e2e test-package
	@echo "make test: every layer passed"

# The toolchain checks what the code claims: rustfmt, and clippy with the workspace lints
# (Cargo.toml) as errors, for the workspace and for each wasm build's features on wasm32.
test-lint: tool-rust
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings
	cargo clippy -p vivus-consent --all-targets --target $(WASM_TARGET) -- -D warnings
	@for features in runtime ui returning boot; do \
	  set -x; \
	  cargo clippy -p vivus-consent --lib --target $(WASM_TARGET) --no-default-features --features $$features -- -D warnings; \
	done

# Offline dependency policy: nothing server-side in the wasm tree, licences on the allowlist.
test-deps: tool-rust
	bash scripts/deps-check.sh

# The server's ledger suite runs against SQLite and, through VIVUS_TEST_POSTGRES_URL, PostgreSQL.
test-native: tool-postgres tool-apt
	VIVUS_TEST_POSTGRES_URL=$(PG_URL) cargo test --workspace --all-features
	cargo test -p vivus-consent-core --no-default-features
	@# Each stage's features on their own, as the package builds them.
	cargo test -p vivus-consent --no-default-features --features runtime --lib
	cargo test -p vivus-consent --no-default-features --features ui --lib
	cargo test -p vivus-consent --no-default-features --features boot --lib
	@# `make bench` builds the criterion bench; type-check it here so it cannot rot unseen.
	cargo check -p vivus-consent-core --features sign --benches

test-wasm-node: tool-rust tool-wasm-bindgen
	cargo test -p vivus-consent --target $(WASM_TARGET) --test node

# In Chromium, then in Firefox: wasm-bindgen's runner takes GECKODRIVER before CHROMEDRIVER.
test-wasm-browser: tool-rust tool-wasm-bindgen tool-apt tool-geckodriver
	cargo test -p vivus-consent --target $(WASM_TARGET) --test browser --test gates
	env -u CHROMEDRIVER GECKODRIVER=$$(command -v geckodriver) cargo test -p vivus-consent --target $(WASM_TARGET) --test browser --test gates

test-node: tool-node
	node --test tests/node/

# The e2e, package and crash tests run the release service, as `make run` does.
server-release:
	cargo build --release -p vivus-consent-server --bin vivus-consent-server --example loadgen

test-crash: server-release
	bash scripts/crash-test.sh

# Two test files at a time (each with its own service and browser) on the 2-core machine:
# 2.5 min instead of 3.7 warm. E2E_JOBS=1 runs them one by one. Then again in Firefox and in
# WebKit, whose runs take the files that say they run there (tests/e2e/README.md, "Three
# engines"); every engine runs even when one fails.
E2E_JOBS ?= 2
E2E_ENGINES ?= chromium firefox webkit
test-e2e: tool-node tool-apt tool-geckodriver pkg server-release
	@failed=""; for engine in $(E2E_ENGINES); do \
	  echo "== e2e in $$engine"; \
	  E2E_ENGINE=$$engine node --test --test-concurrency=$(E2E_JOBS) tests/e2e/ || failed="$$failed $$engine"; \
	done; \
	if [ -n "$$failed" ]; then echo "e2e failed in:$$failed"; exit 1; fi

test-package: tool-node tool-apt pkg server-release
	node --test --test-concurrency=1 tests/package/

# ---- benchmarks and fuzzing ------------------------------------------------

bench: tools tool-postgres pkg
	cargo bench -p vivus-consent-core --features sign --bench verify -- --warm-up-time 1 --measurement-time 3
	bash bench/service.sh
	node bench/run.mjs

fuzz:
	bash scripts/fuzz.sh

clean:
	cargo clean
	rm -rf pkg/vivus-consent.js pkg/vivus_consent.js pkg/vivus_consent_* pkg/vivus_consent.d.ts pkg/snippets node_modules

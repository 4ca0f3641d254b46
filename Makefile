# aidants-connect — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
BIN := target/debug/aidants-connect
CONFIG ?= config/default.toml
# Crates that must stay pure: no database, web framework or async runtime.
PURE_CRATES := ac-mandates ac-audit ac-auth ac-localtime
# Protocol crates: they may make HTTP calls but hold no database or web framework.
PROTOCOL_CRATES := ac-oidc
# The demonstration (demo load, the demonstration FranceConnect and partner website, the demo
# accounts' TOTP code): a cargo feature of the binary. `make run`, the tests and the benchmarks
# turn it on; the production build (`make release`) leaves it out (docs/operations.md).
DEMO := --features aidants-connect/demo
DEMO_CRATES := ac-demo ac-demo-idp ac-demo-partner
# The npm peers of the OIDC interop tests (panva's oidc-provider and openid-client), pinned by package-lock.json.
INTEROP := tests/interop
# The browser runs' npm packages (playwright-core driving Debian's Chromium, axe-core), pinned by
# tests/browser/package-lock.json; reusable by any end-to-end test through tests/src/browser.rs.
BROWSER := tests/browser

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build the binary with the demonstration (debug)
	$(CARGO) build --locked -p aidants-connect $(DEMO)

.PHONY: release
release: ## Build the production binary, without the demonstration: target/release/aidants-connect
	$(CARGO) build --release --locked -p aidants-connect

.PHONY: run
run: build ## Build, migrate, load the demo once, serve on http://127.0.0.1:8080
	$(BIN) --config $(CONFIG) migrate
	$(BIN) --config $(CONFIG) demo load
	$(BIN) --config $(CONFIG) serve

.PHONY: test
test: test-deps ## Run every test, browser runs included (SQLite; PostgreSQL too when AC_TEST_DATABASE_URL is set)
	$(CARGO) test --locked --workspace $(DEMO)

.PHONY: test-deps
test-deps: prerequisites interop-deps browser-deps ## Install what the tests need when missing (README: what `make test` may install)

.PHONY: prerequisites
prerequisites: # Debian packages and the SMTP test server; run before the npm targets (serial make keeps the order)
	@bash tests/prerequisites.sh

.PHONY: check
check: fmt-check clippy boundaries production-check dsfr-check comment-refs ## Formatting, lints, crate boundaries, the production build's own tests, the vendored design system

.PHONY: comment-refs
comment-refs: ## Comments cite documents of this repository or RFCs, never an issue number or a brief outside it
	@found=$$(grep -rnE '(issue|ticket) #?[0-9]+|PRODUCT\.md' crates tests/src tests/e2e tests/browser/lib tests/browser/run.mjs migrations config Makefile --exclude-dir=node_modules | grep -v '^Makefile:.*comment-refs' || true); \
	if [ -n "$$found" ]; then echo "$$found"; echo "cite a document of the repository (docs/..., an RFC) instead"; exit 1; fi; \
	echo "comments cite only documents of the repository"

.PHONY: fmt-check
fmt-check:
	$(CARGO) fmt --all -- --check

.PHONY: clippy
clippy: # with the demonstration, then the production build's crates without it
	$(CARGO) clippy --locked --workspace --all-targets $(DEMO) -- -D warnings
	$(CARGO) clippy --locked -p aidants-connect -p ac-web --all-targets -- -D warnings

.PHONY: boundaries
boundaries: ## Pure crates must not depend on diesel, actix or tokio; the production build holds no demo crate
	@for crate in $(PURE_CRATES); do \
	  bad=$$($(CARGO) tree --locked -p $$crate -e normal --prefix none | grep -E '^(diesel|actix|tokio|reqwest)' || true); \
	  if [ -n "$$bad" ]; then echo "boundary broken: $$crate depends on: $$bad"; exit 1; fi; \
	done; echo "crate boundaries hold: $(PURE_CRATES) are pure"
	@for crate in $(PROTOCOL_CRATES); do \
	  bad=$$($(CARGO) tree --locked -p $$crate -e normal --prefix none | grep -E '^(diesel|actix)' || true); \
	  if [ -n "$$bad" ]; then echo "boundary broken: $$crate depends on: $$bad"; exit 1; fi; \
	done; echo "crate boundaries hold: $(PROTOCOL_CRATES) have no database or web framework"
	@# The production binary's tree (`make release`: no feature) must hold no demo crate; the
	@# demo build's must, so that a renamed crate cannot make this check pass by missing it.
	@pattern="^($$(echo $(DEMO_CRATES) | tr ' ' '|')) "; \
	bad=$$($(CARGO) tree --locked -p aidants-connect -e normal --prefix none | grep -E "$$pattern" | cut -d" " -f1 | sort -u || true); \
	if [ -n "$$bad" ]; then echo "boundary broken: the production binary (make release) contains: $$bad"; exit 1; fi; \
	found=$$($(CARGO) tree --locked -p aidants-connect -e normal --prefix none $(DEMO) | grep -E "$$pattern" | cut -d" " -f1 | sort -u | wc -l); \
	if [ "$$found" -ne $(words $(DEMO_CRATES)) ]; then echo "boundary check broken: the demo build lists $$found of $(DEMO_CRATES)"; exit 1; fi; \
	echo "crate boundaries hold: the production build holds none of $(DEMO_CRATES)"

.PHONY: production-check
production-check: ## The web crate's and the binary's unit tests as the production build compiles them (no demo: demo load answers DEM002)
	$(CARGO) test --locked -p ac-web -p aidants-connect --lib --bins

.PHONY: interop-deps
interop-deps: $(INTEROP)/node_modules/.package-lock.json ## Install the OIDC interop peers (npm ci, needs Node.js 20+)

$(INTEROP)/node_modules/.package-lock.json: $(INTEROP)/package.json $(INTEROP)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is required for the OIDC interop tests (Node.js 20+)"; exit 1; }
	npm ci --prefix $(INTEROP) --no-audit --no-fund

.PHONY: browser-deps
browser-deps: $(BROWSER)/node_modules/.package-lock.json ## Install the browser runs' npm packages (needs Node.js 20+ and Debian's chromium)
	@# Checked on every run, not only at install: a removed Chromium fails here, clearly.
	@[ -x "$${AC_CHROMIUM:-/usr/bin/chromium}" ] || { echo "Chromium is required for the browser tests (mandate journey, consoles) at $${AC_CHROMIUM:-/usr/bin/chromium}: apt-get install -y chromium, or set AC_CHROMIUM"; exit 1; }

$(BROWSER)/node_modules/.package-lock.json: $(BROWSER)/package.json $(BROWSER)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is required for the browser tests (Node.js 20+)"; exit 1; }
	npm ci --prefix $(BROWSER) --no-audit --no-fund

# The State design system (DSFR), pinned by crates/web/dsfr/package-lock.json; its install
# scripts are not run (--ignore-scripts): only files are taken from the package.
DSFR := crates/web/dsfr

.PHONY: dsfr
dsfr: ## Vendor the DSFR files the pages use into crates/web/static/dsfr (needs npm; commit the result)
	npm ci --ignore-scripts --prefix $(DSFR) --no-audit --no-fund
	bash $(DSFR)/vendor.sh

.PHONY: dsfr-check
dsfr-check: ## Fail when the committed DSFR files differ from the pinned package's
	@npm ci --ignore-scripts --prefix $(DSFR) --no-audit --no-fund --silent
	@tmp=$$(mktemp -d) && bash $(DSFR)/vendor.sh "$$tmp/dsfr" >/dev/null && \
	  if diff -r "$$tmp/dsfr" crates/web/static/dsfr >/dev/null; then \
	    echo "the vendored DSFR matches the pinned package"; rm -rf "$$tmp"; \
	  else diff -rq "$$tmp/dsfr" crates/web/static/dsfr; rm -rf "$$tmp"; \
	    echo "crates/web/static/dsfr differs from the pinned package: run make dsfr and commit"; exit 1; fi

# The « Écouter » recordings of the legal texts (docs/audio.md): espeak-ng's French voice reads
# the words ac_mandates::speech gives (the recap's own source), opusenc makes small Ogg Opus files,
# committed with a manifest of each text's SHA-256; a test of ac-web fails when a text changes and
# its recording does not.
AUDIO := crates/web/audio

.PHONY: audio
audio: ## Record the legal texts read aloud into crates/web/static/audio (needs espeak-ng and opus-tools; commit the result)
	bash $(AUDIO)/generate.sh

.PHONY: bench
bench: ## Benchmarks (see docs/performance.md); PostgreSQL too when AC_TEST_DATABASE_URL is set
	$(CARGO) bench --locked -p ac-storage --bench can_act
	$(CARGO) bench --locked -p ac-storage --bench audit
	$(CARGO) bench --locked -p ac-storage --bench audit_scale
	$(CARGO) bench --locked -p ac-storage --bench journal
	$(CARGO) bench --locked -p ac-storage --bench retention
	$(CARGO) bench --locked -p ac-storage --bench aide_history
	$(CARGO) bench --locked -p ac-e2e --bench outbox
	$(CARGO) bench --locked -p aidants-connect --bench oidc_flows $(DEMO)

.PHONY: clean-demo
clean-demo: ## Delete the local SQLite database and outbox under var/
	rm -rf var

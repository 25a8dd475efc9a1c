# pscm — public service center monitor. `make` lists the targets.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
GO      ?= go
BIN     := bin
# The full suite, integration tests included, must stay well under 20 minutes
# on a 2-core machine; the timeout is the backstop, not the budget.
TEST_TIMEOUT ?= 25m
# Each fuzz target's bounded run in `make test`.
FUZZTIME ?= 5s

.DEFAULT_GOAL := help
.PHONY: help deps build test test-short fuzz demo bench lint fmt clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

deps: ## install what is missing: Debian packages, InfluxDB 1.8.10 into .tools/bin, Go modules
	@./scripts/deps.sh

PROGRAMS := $(foreach p,collector agent dashboard sim ctl,$(if $(wildcard $(p)/main.go),$(p)))

build: ## build the programs (pscm-collector, pscm-agent, pscm-dashboard, pscm-sim) into bin/
	@mkdir -p $(BIN)
	@for p in $(PROGRAMS); do \
		echo "build bin/pscm-$$p ($(VERSION))"; \
		$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/pscm-$$p ./$$p || exit 1; \
	done

test: deps ## set up, then vet, every test with -race (unit, fuzz seeds, integration on real Mosquitto, InfluxDB, RTSP, Chromium), bounded fuzzing, and the secrets check over every log
	@TEST_TIMEOUT=$(TEST_TIMEOUT) FUZZTIME=$(FUZZTIME) GO=$(GO) ./scripts/test.sh

fuzz: ## run every fuzz target for FUZZTIME each (default 5s; make test does this too)
	@FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

test-short: ## unit tests only (no real services)
	$(GO) test -short -count=1 ./...

.PHONY: test-faults

test-faults: deps ## the whole-system fault suite alone (about 10 minutes; make test runs it beside the other tests)
	$(GO) test -race -count=1 -v -timeout 30m -run '^TestFaults$$' ./internal/faultsuite/

demo: deps build ## set up and run the whole system on a simulated center (Ctrl-C stops it)
	@./scripts/demo.sh

bench: deps ## run every benchmark (collector against its ceilings and Telegraf, agent, spool, cameras, dashboard); figures go in BENCHMARKS.md
	@./scripts/deps.sh telegraf
	$(GO) test -run '^$$' -bench . -benchmem ./internal/schema/
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./collector/
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./agent/
	$(GO) test -run '^$$' -bench . -benchmem ./agent/spool/
	$(GO) test -run '^$$' -bench Fanout1000 -benchtime 1x ./dashboard/hub/
	$(GO) test -run '^$$' -bench LoadYear -benchtime 1x -timeout 30m ./internal/kpidb/
	$(GO) test -run '^$$' -bench PressToScreen -benchtime 1x -timeout 30m ./dashboard/
	$(GO) test -run '^$$' -bench Cameras1080p -benchtime 1x -timeout 30m ./agent/camera/pipeline/
	$(GO) test -run '^$$' -bench CenterBrokerAutosave -benchtime 1x -v -timeout 30m ./configs/
	$(GO) test -run '^$$' -bench DecodeKeyframe1080p ./agent/camera/keyframe/
	$(GO) test -run '^$$' -bench Situations -benchtime 1x -v ./agent/camera/occupancy/
	$(GO) test -run '^$$' -bench Candidate -benchtime 3x ./agent/camera/occupancy/
	PSCM_MEASURE=1 $(GO) test -run 'TestCandidatePigo$$' -v -timeout 30m ./agent/camera/occupancy/
	$(GO) test -run '^$$' -bench CasesPage -benchtime 1x -v ./dashboard/casedesk/
	$(GO) test -run '^$$' -bench OfficialsYear -benchtime 1x -timeout 20m ./internal/kpidb/
	$(GO) test -run '^$$' -bench NationalRate -benchtime 1x -timeout 20m ./sim/
	PSCM_SCALE_SITES=$${PSCM_SCALE_SITES:-150} $(GO) test -run '^$$' -bench Province -benchtime 1x -timeout 120m ./dashboard/board/

lint: deps ## gofmt, go mod tidy (no diff), go vet and golangci-lint (.golangci.yml); make test runs it first
	@GO=$(GO) ./scripts/lint.sh

fmt: ## format the code
	gofmt -w .

clean: ## remove build output (keeps .tools)
	rm -rf $(BIN) .demo

# Install layout: binaries in $(BINDIR); example configs in $(SYSCONFDIR)/pscm
# (each also copied to <program>.yml unless that exists: an operator's config
# is never overwritten); units and the sysusers entry under $(PREFIX)/lib,
# which systemd reads for /usr/local too; Prometheus, Grafana, Mosquitto and
# InfluxDB examples in $(DATADIR)/pscm. DESTDIR stages everything for a package.
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
SYSCONFDIR  ?= /etc
DATADIR     ?= $(PREFIX)/share
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
INSTALL     ?= install
UNITS       := $(notdir $(wildcard systemd/*.service))
EXAMPLES    := $(notdir $(wildcard configs/*.example.yml))
SHARED      := prometheus grafana mosquitto influxdb

.PHONY: install uninstall

install: ## install bin/pscm-* (after make build), configs, systemd units; PREFIX=/usr/local DESTDIR=
	@for p in $(PROGRAMS); do test -x $(BIN)/pscm-$$p || { echo "$(BIN)/pscm-$$p missing: run make build first"; exit 1; }; done
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/pscm $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(DATADIR)/pscm
	@for p in $(PROGRAMS); do $(INSTALL) -m 0755 $(BIN)/pscm-$$p $(DESTDIR)$(BINDIR)/pscm-$$p || exit 1; done
	@for f in $(EXAMPLES); do \
		$(INSTALL) -m 0644 configs/$$f $(DESTDIR)$(SYSCONFDIR)/pscm/$$f || exit 1; \
		c=$(DESTDIR)$(SYSCONFDIR)/pscm/$${f%.example.yml}.yml; \
		if [ -e $$c ]; then echo "keep $$c"; else $(INSTALL) -m 0644 configs/$$f $$c || exit 1; fi; \
	done
	@for u in $(UNITS); do \
		sed -e 's#/usr/local/bin/#$(BINDIR)/#g' -e 's#/etc/pscm/#$(SYSCONFDIR)/pscm/#g' systemd/$$u > $(DESTDIR)$(UNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	$(INSTALL) -m 0644 systemd/pscm.sysusers $(DESTDIR)$(SYSUSERSDIR)/pscm.conf
	@# Each unit's LoadCredential= directory: root's, for the secret files.
	$(INSTALL) -d -m 0700 $(foreach u,$(UNITS),$(DESTDIR)$(SYSCONFDIR)/pscm/secrets/$(u:pscm-%.service=%))
	@for d in $(SHARED); do \
		[ -d configs/$$d ] || continue; \
		(cd configs && find $$d -type f ! -name '*.go') | while read -r f; do \
			$(INSTALL) -D -m 0644 configs/$$f $(DESTDIR)$(DATADIR)/pscm/$$f || exit 1; \
		done || exit 1; \
	done
	@echo "installed; next: systemd-sysusers, edit $(SYSCONFDIR)/pscm/*.yml, systemctl daemon-reload, systemctl enable --now pscm-<program>"

uninstall: ## remove what make install put in place, except edited configs (same PREFIX and DESTDIR)
	rm -f $(foreach p,$(PROGRAMS),$(DESTDIR)$(BINDIR)/pscm-$(p))
	rm -f $(foreach u,$(UNITS),$(DESTDIR)$(UNITDIR)/$(u)) $(DESTDIR)$(SYSUSERSDIR)/pscm.conf
	rm -f $(foreach f,$(EXAMPLES),$(DESTDIR)$(SYSCONFDIR)/pscm/$(f))
	@for f in $(EXAMPLES); do \
		c=$(DESTDIR)$(SYSCONFDIR)/pscm/$${f%.example.yml}.yml; \
		if cmp -s configs/$$f $$c; then rm -f $$c; elif [ -e $$c ]; then echo "kept $$c (edited)"; fi; \
	done
	-@rmdir $(foreach u,$(UNITS),$(DESTDIR)$(SYSCONFDIR)/pscm/secrets/$(u:pscm-%.service=%)) 2>/dev/null
	-@rmdir $(DESTDIR)$(SYSCONFDIR)/pscm/secrets 2>/dev/null
	-@rmdir $(DESTDIR)$(SYSCONFDIR)/pscm 2>/dev/null
	rm -rf $(DESTDIR)$(DATADIR)/pscm

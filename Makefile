# meshgate — WireGuard network control plane.
#
#   make deps    install the Debian packages needed (idempotent)
#   make         build everything into build/
#   make test    unit + API tests
#   make check   the same tests built with ASan+UBSan (into build/san/)
#   make run     start the appliance on this machine
#   make install install binaries under $(PREFIX)
#
# Quiet unless V=1.

PREFIX   ?= /usr/local
CC       ?= cc
SAN      ?= 0
ifeq ($(SAN),1)
BUILD    ?= build/san
OPT      ?= -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
else
BUILD    ?= build
OPT      ?= -O2 -g
endif

PKGS     := libmicrohttpd sqlite3 libsodium jansson libcurl libmnl libmosquitto libnftnl libqrencode libpng libsystemd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_CFLAGS := $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN     := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-unused-parameter
CPPFLAGS += -D_GNU_SOURCE -I. -Ilib -Iserver -Iappliance
CFLAGS   += $(WARN) $(OPT) -fstack-protector-strong -MMD -MP $(PKG_CFLAGS)
LDFLAGS  += $(filter -fsanitize=%,$(OPT)) -pthread

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC    := $(wildcard lib/*.c)
SERVER_SRC := $(wildcard server/*.c)
CTL_SRC    := $(wildcard ctl/*.c)
NAT_SRC    := $(wildcard nat/*.c)
EXT_SRC    := $(wildcard extclient/*.c)
# The agent: appliance/main.c is the program, everything else its library.
AGENT_SRC  := $(filter-out appliance/main.c,$(wildcard appliance/*.c appliance/*/*.c))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)

LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o)
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/%.o)
CTL_OBJ    := $(CTL_SRC:%.c=$(BUILD)/%.o)
AGENT_OBJ  := $(AGENT_SRC:%.c=$(BUILD)/%.o)
NAT_OBJ    := $(NAT_SRC:%.c=$(BUILD)/%.o)
EXT_OBJ    := $(EXT_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)

LIBMG      := $(BUILD)/libmeshgate.a
LIBAGENT   := $(BUILD)/libmgagent.a
LIBNAT     := $(BUILD)/libmgnat.a
LIBEXT     := $(BUILD)/libmgext.a
BINS       := $(BUILD)/meshgated $(BUILD)/meshgatectl
ifneq ($(wildcard appliance/main.c),)
BINS       += $(BUILD)/meshgate
endif

.PHONY: all deps test check run install clean unit api
all: $(BINS) $(UNIT_BIN)

deps:
	$(Q)sh tools/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBMG): $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBAGENT): $(AGENT_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBNAT): $(NAT_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBEXT): $(EXT_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/meshgate: $(BUILD)/appliance/main.o $(LIBAGENT) $(LIBNAT) $(LIBMG)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/meshgated: $(SERVER_OBJ) $(LIBEXT) $(LIBMG)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/meshgatectl: $(CTL_OBJ) $(LIBEXT) $(LIBMG)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(CMOCKA_CFLAGS) -c -o $@ $<

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(LIBAGENT) $(LIBNAT) $(LIBEXT) $(LIBMG)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)

# Tests. tests/run executes every suite and prints one closing
# "N passed, N failed" line; it exits non-zero when anything failed.
test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) sh tests/run

check: deps
	$(Q)$(MAKE) --no-print-directory SAN=1 all
	$(Q)BUILD=build/san ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 sh tests/run

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) sh tools/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(BUILD)/meshgated $(DESTDIR)$(PREFIX)/sbin/meshgated
	install -m 0755 $(BUILD)/meshgatectl $(DESTDIR)$(PREFIX)/bin/meshgatectl
	install -m 0755 $(BUILD)/meshgate $(DESTDIR)$(PREFIX)/sbin/meshgate
	install -d $(DESTDIR)$(PREFIX)/share/meshgate/web
	cp -R web/. $(DESTDIR)$(PREFIX)/share/meshgate/web/

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)

# Benchmarks (tests/bench, see tests/bench/run.sh): figures are printed as
# ratios against an anchor measured in the same run; results go to
# tests/bench/results/*.json. Needs root (namespaces, WireGuard, nftables).
BENCH_SRC  := $(wildcard tests/bench/bench_*.c)
BENCH_BIN  := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/tests/bench/%)

.PHONY: bench
.SECONDARY: $(BENCH_BIN:%=%.o)
$(BUILD)/tests/bench/%: $(BUILD)/tests/bench/%.o $(LIBAGENT) $(LIBNAT) $(LIBEXT) $(LIBMG)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

bench:
	$(Q)$(MAKE) --no-print-directory all $(BENCH_BIN)
	$(Q)BUILD=$(BUILD) sh tests/bench/run.sh

# --- fuzzing and valgrind (tests/fuzz/) --------------------------------------
# make fuzz       build the libFuzzer targets (clang, ASan+UBSan) into
#                 build/fuzz/ and run each for FUZZ_SECONDS over a temporary
#                 copy of its seed corpus; fails when any of them crashes.
# make fuzz-smoke the same, but FUZZ_SMOKE_RUNS inputs per target from a
#                 fixed seed: the same inputs every time (in .ci/run).
# make valgrind   the unit tests and the API tests under valgrind (memcheck).
# make valgrind-unit  the unit tests only (in .ci/run; the API tests under
#                 valgrind take ~7 minutes).
FUZZ_SECONDS ?= 20
FUZZ_SMOKE_RUNS ?= 200000
.PHONY: fuzz fuzz-smoke valgrind valgrind-unit
fuzz: deps
	$(Q)$(MAKE) --no-print-directory -f tests/fuzz/fuzz.mk V=$(V) fuzz-build
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_BUILD=build/fuzz sh tests/fuzz/run.sh

fuzz-smoke: deps
	$(Q)$(MAKE) --no-print-directory -f tests/fuzz/fuzz.mk V=$(V) fuzz-build
	$(Q)FUZZ_RUNS=$(FUZZ_SMOKE_RUNS) FUZZ_BUILD=build/fuzz sh tests/fuzz/run.sh

valgrind: deps
	$(Q)$(MAKE) --no-print-directory SAN=0 BUILD=build all
	$(Q)BUILD=build sh tests/fuzz/valgrind.sh

valgrind-unit: deps
	$(Q)$(MAKE) --no-print-directory SAN=0 BUILD=build all
	$(Q)BUILD=build sh tests/fuzz/valgrind.sh unit

# The appliance image (image/, see README "Appliance image"): a Debian 12
# raw disk and rootfs tarball under image/out/, and its qemu boot test.
.PHONY: image test-image
image: deps
	$(Q)sh image/build.sh

test-image: deps
	$(Q)[ -s image/out/meshgate.img ] || $(MAKE) --no-print-directory image
	$(Q)sh image/test.sh

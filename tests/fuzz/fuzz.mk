# libFuzzer targets for every parser that takes outside input.
#
#   make -f tests/fuzz/fuzz.mk          build build/fuzz/fuzz_* (clang)
#   make fuzz                           build, then run each for FUZZ_SECONDS
#
# Everything is built from the project's own sources with ASan+UBSan and
# coverage instrumentation into build/fuzz/ (never mixed with build/).
# The project's sources become small archives so that each fuzzer links
# only the objects it needs.

FUZZ_CC    ?= clang
FUZZ_BUILD ?= build/fuzz
FUZZ_PKGS  := jansson libsodium libmnl libnftnl libqrencode libpng libcurl libmosquitto sqlite3 libmicrohttpd libsystemd
FUZZ_PKG_CFLAGS := $(shell pkg-config --cflags $(FUZZ_PKGS) 2>/dev/null)
FUZZ_PKG_LIBS   := $(shell pkg-config --libs $(FUZZ_PKGS) 2>/dev/null)
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_FLAGS := -std=gnu11 -Wall -Wextra -Wno-unused-parameter -g -O1 -fno-omit-frame-pointer -D_GNU_SOURCE -I. -Ilib -Iserver -Iappliance \
	      $(FUZZ_SAN) $(FUZZ_PKG_CFLAGS)

ifeq ($(V),1)
FQ :=
else
FQ := @
endif

FUZZ_TARGETS := json_body cidr names enrollment_token mqtt_update uapi_reply netlink_reply extclient_conf \
		gateway_config
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

# The project's code, as archives. main.c files are programs, not library.
FZ_LIB_SRC    := $(wildcard lib/*.c)
FZ_AGENT_SRC  := $(filter-out appliance/main.c,$(wildcard appliance/*.c appliance/*/*.c))
FZ_NAT_SRC    := $(wildcard nat/*.c)
FZ_EXT_SRC    := $(wildcard extclient/*.c)
# api_hosts.c is #included by fuzz_enrollment_token.c (its token decoder is static).
FZ_SERVER_SRC := $(filter-out server/main.c server/api_hosts.c,$(wildcard server/*.c))

fz_objs = $(1:%.c=$(FUZZ_BUILD)/obj/%.o)
FZ_LIBMG     := $(FUZZ_BUILD)/libmeshgate.a
FZ_LIBAGENT  := $(FUZZ_BUILD)/libmgagent.a
FZ_LIBNAT    := $(FUZZ_BUILD)/libmgnat.a
FZ_LIBEXT    := $(FUZZ_BUILD)/libmgext.a
FZ_LIBSERVER := $(FUZZ_BUILD)/libmgserver.a
# Link order: dependents first.
FZ_ARCHIVES  := $(FZ_LIBSERVER) $(FZ_LIBAGENT) $(FZ_LIBNAT) $(FZ_LIBEXT) $(FZ_LIBMG)

.PHONY: fuzz-build
# Keep the harness objects (intermediates of a pattern chain).
.SECONDARY:
fuzz-build: $(FUZZ_BINS)

# Project sources: coverage-instrumented, not linked with libFuzzer's main.
$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(FQ),echo "  FUZZCC  $<")
	$(FQ)$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FZ_LIBMG): $(call fz_objs,$(FZ_LIB_SRC))
$(FZ_LIBAGENT): $(call fz_objs,$(FZ_AGENT_SRC))
$(FZ_LIBNAT): $(call fz_objs,$(FZ_NAT_SRC))
$(FZ_LIBEXT): $(call fz_objs,$(FZ_EXT_SRC))
$(FZ_LIBSERVER): $(call fz_objs,$(FZ_SERVER_SRC))
$(FZ_ARCHIVES):
	@$(if $(FQ),echo "  AR      $@")
	$(FQ)rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o $(FZ_ARCHIVES)
	@$(if $(FQ),echo "  FUZZLD  $@")
	$(FQ)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< $(FZ_ARCHIVES) $(FUZZ_PKG_LIBS) -pthread

-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)

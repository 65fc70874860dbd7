# updk top-level Makefile. Run ./configure first; `make help` lists the targets.
# Sources are found by folder, so a new .c file needs no edit here.

-include mk/config.mk
ifeq ($(CC),)
$(error run ./configure first)
endif

include mk/rules.mk

B := build
LIB_SRCS := $(sort $(wildcard lib/*/*.c sim/*.c sim/*/*.c drivers/*/*.c drivers/*/*/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o)
LIBUPDK := $(B)/lib/libupdk.a

APP_DIRS := $(sort $(dir $(wildcard apps/*/*.c)))
APPS := $(foreach d,$(APP_DIRS),$(B)/bin/updk-$(notdir $(d:%/=%)))

UNIT_SRCS := $(sort $(wildcard test/unit/*.c))
MODEL_SRCS := $(sort $(wildcard test/model/*.c))
VM_SRCS := $(sort $(wildcard test/vm/*.c))
BENCH_SRCS := $(sort $(wildcard test/bench/*.c))
TEST_HELPER_SRCS := $(sort $(wildcard test/common/*.c))
TEST_HELPER_OBJS := $(TEST_HELPER_SRCS:%.c=$(B)/obj/%.o)
TESTS := $(if $(UNIT_SRCS),$(B)/test/unit-tests) $(if $(MODEL_SRCS),$(B)/test/model-tests) \
	$(if $(VM_SRCS),$(B)/test/vm-tests)
BENCHES := $(BENCH_SRCS:test/bench/%.c=$(B)/test/bench-%)

ALL_CFLAGS := $(CFLAGS) -Iinclude -I. $(DEP_CFLAGS) -MMD -MP
LIBS := $(LIBUPDK) $(DEP_LIBS)

.PHONY: all lib apps tests check check-layers check-names check-unit check-model check-example \
	check-vm check-vm-matrix install uninstall clean help format fuzz check-fuzz check-soak
all: lib apps tests $(BENCHES)
lib: $(LIBUPDK)
apps: $(APPS)
ifeq ($(HAVE_CRITERION),y)
tests: $(TESTS)
else
tests:
	@echo "tests need criterion: apt-get install libcriterion-dev, then ./configure" >&2; exit 1
endif

# The fio ioengine: adds itself to all, check and install when ./configure --with-fio found fio.
include plugins/fio/engine.mk

$(B)/obj/%.o: %.c mk/config.mk
	$(call quiet,CC,$@)$(CC) $(ALL_CFLAGS) $(if $(filter test/%,$<),$(CRITERION_CFLAGS)) -c $< -o $@

$(LIBUPDK): $(LIB_OBJS)
	$(call quiet,AR,$@)rm -f $@ && $(AR) rcs $@ $^

# Each apps/NAME folder is one program, build/bin/updk-NAME. (No % in the prerequisites: in a
# pattern rule make would put the stem in its place.)
.SECONDEXPANSION:
$(B)/bin/updk-%: $$(addprefix $(B)/obj/,$$(subst .c,.o,$$(wildcard apps/$$*/*.c))) $(LIBUPDK)
	$(call quiet,LD,$@)$(CC) $(LDFLAGS) $(filter %.o,$^) $(LIBS) -o $@

$(B)/test/unit-tests: $(UNIT_SRCS:%.c=$(B)/obj/%.o) $(TEST_HELPER_OBJS) $(LIBUPDK)
	$(call quiet,LD,$@)$(CC) $(LDFLAGS) $(filter %.o,$^) $(LIBS) $(CRITERION_LIBS) -o $@
$(B)/test/model-tests: $(MODEL_SRCS:%.c=$(B)/obj/%.o) $(TEST_HELPER_OBJS) $(LIBUPDK)
	$(call quiet,LD,$@)$(CC) $(LDFLAGS) $(filter %.o,$^) $(LIBS) $(CRITERION_LIBS) -o $@
$(B)/test/vm-tests: $(VM_SRCS:%.c=$(B)/obj/%.o) $(TEST_HELPER_OBJS) $(LIBUPDK)
	$(call quiet,LD,$@)$(CC) $(LDFLAGS) $(filter %.o,$^) $(LIBS) $(CRITERION_LIBS) -o $@
$(B)/test/bench-%: $(B)/obj/test/bench/%.o $(LIBUPDK)
	$(call quiet,LD,$@)$(CC) $(LDFLAGS) $(filter %.o,$^) $(LIBS) -o $@

# The unit and model rings, and two checks of the source. Criterion prints its own summary line
# per binary.
check: check-layers check-names check-unit check-model check-example
# No file in lib/util, lib/vfio, lib/mem or lib/pci includes a header of a layer above it.
check-layers:
	scripts/check-layers.sh
# Every function a comment or a doc page cites exists in the tree.
check-names:
	python3 scripts/check-names.py
check-unit: $(if $(UNIT_SRCS),$(B)/test/unit-tests)
	$(if $(UNIT_SRCS),$(B)/test/unit-tests $(CHECK_ARGS))
check-model: $(if $(MODEL_SRCS),$(B)/test/model-tests) $(APPS)
	$(if $(MODEL_SRCS),$(B)/test/model-tests $(CHECK_ARGS))

# The examples, built as a user builds them: from an install found through pkg-config.
check-example: lib
	@rm -rf $(B)/stage
	$(call quiet,INST,$(B)/stage/)$(MAKE) -s install DESTDIR= PREFIX=$(CURDIR)/$(B)/stage >/dev/null
	$(call quiet,CC,$(B)/examples/)PKG_CONFIG_PATH=$(CURDIR)/$(B)/stage/lib/pkgconfig \
		$(MAKE) -s -C examples hello_nvme hybrid_loop CFLAGS="$(CFLAGS)" && \
		mv examples/hello_nvme examples/hybrid_loop $(B)/examples/
	$(B)/examples/hello_nvme
	$(B)/examples/hybrid_loop

# The model-ring soak: updk-perf --verify on sim:nvme with random faults, SOAK_SECONDS (60);
# then the hybrid loop's lost-wake-up test over a million posts (docs/interrupts.md).
check-soak: $(APPS) $(if $(UNIT_SRCS),$(B)/test/unit-tests)
	SOAK_SECONDS=$(SOAK_SECONDS) test/soak.sh
	UPDK_LOOP_POSTS=1000000 $(B)/test/unit-tests --filter 'loop/no_lost_wakeup' --verbose

# The real-VFIO ring: boots a QEMU guest with a virtual IOMMU and runs the suite inside it.
check-vm: all
	test/vm/smoke.sh
	test/vm/check.sh

# The same ring on Linux 6.12 with AMD-Vi and virtio-iommu (without and with
# allow_unsafe_interrupts): a subset of the suites, one guest each (test/vm/matrix.sh).
check-vm-matrix: all
	test/vm/matrix.sh

# libFuzzer targets, built with clang: test/fuzz/NAME.c -> build/fuzz/NAME. Each includes the
# source it tests and stands in for what that source calls, so it builds without the library.
# check-fuzz runs each for FUZZ_SECONDS (default 20) from its seeds in test/fuzz/corpus/NAME.
FUZZ_SRCS := $(sort $(wildcard test/fuzz/*.c))
FUZZERS := $(FUZZ_SRCS:test/fuzz/%.c=$(B)/fuzz/%)
FUZZ_CC ?= clang
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter \
	$(filter -Werror,$(CFLAGS)) -pthread -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -Iinclude -I. $(DEP_CFLAGS)
FUZZ_DEPS := $(LIB_SRCS) $(wildcard include/updk/*.h lib/*/*.h sim/*.h sim/*/*.h drivers/*/*.h drivers/*/*/*.h \
	test/fuzz/*.h)
fuzz: $(FUZZERS)
$(B)/fuzz/%: test/fuzz/%.c $(FUZZ_DEPS) mk/config.mk
	$(call quiet,FUZZ,$@)$(FUZZ_CC) $(FUZZ_CFLAGS) $< lib/util/log.c -o $@
check-fuzz: fuzz
	test/fuzz/run.sh $(FUZZ_SECONDS)

install: lib
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/updk $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(LIBUPDK) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/updk/*.h $(DESTDIR)$(PREFIX)/include/updk/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBS@|$(DEP_LIBS)|' mk/updk.pc.in \
		>$(DESTDIR)$(PREFIX)/lib/pkgconfig/updk.pc
	$(if $(APPS),install -d $(DESTDIR)$(PREFIX)/bin && install -m 755 $(APPS) $(DESTDIR)$(PREFIX)/bin/)
	$(if $(FIO_ENGINE_SO),install -m 755 $(FIO_ENGINE_SO) $(DESTDIR)$(PREFIX)/lib/ && \
		ln -sf fio_updk.so $(DESTDIR)$(PREFIX)/lib/updk)

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/include/updk $(DESTDIR)$(PREFIX)/lib/libupdk.a \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig/updk.pc $(APPS:$(B)/bin/%=$(DESTDIR)$(PREFIX)/bin/%) \
		$(DESTDIR)$(PREFIX)/lib/fio_updk.so $(DESTDIR)$(PREFIX)/lib/updk

format:
	git ls-files '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf $(B)

help:
	@echo "make [all]       library, programs, tests (V=1 for full command lines)"
	@echo "make check       layer and cited-name checks, unit and model tests (CHECK_ARGS=--verbose)"
	@echo "make check-vm    real-VFIO tests in a QEMU guest with a virtual IOMMU"
	@echo "make check-vm-matrix  a subset of them on Linux 6.12 with AMD-Vi and virtio-iommu"
	@echo "make check-fuzz  libFuzzer targets (clang), FUZZ_SECONDS each (default 20)"
	@echo "make check-soak  updk-perf --verify on sim:nvme with random faults, SOAK_SECONDS;"
	@echo "                 the hybrid loop over a million posts"
	@echo "make check-fio   fio with the updk engine on sim:nvme (./configure --with-fio)"
	@echo "make install     library, headers, updk.pc, programs (and the fio engine) under PREFIX"

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

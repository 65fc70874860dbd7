# The fio ioengine, build/lib/fio_updk.so (docs/fio.md), when ./configure --with-fio found the
# source of the installed fio (FIO_SRC). Included by the top Makefile, after its `all`.
#
# fio loads the engine with dlopen(), so the engine carries its own copy of the library: the
# library's sources again, position-independent, in build/pic/ (UPDK_DLOPEN: no initial-exec
# thread-locals). Everything in it is hidden but the `ioengine` fio looks up. -z nodelete: fio
# dlclose()s the engine in the last job thread before that thread exits, and the thread's exit
# still runs updk's thread-exit hooks.
#
# Thread-locals through TLS descriptors (x86-64's -mtls-dialect=gnu2; aarch64's default): glibc
# places a dlopen()ed object's small TLS block in the static TLS it keeps spare when it fits, and
# the descriptor then returns a fixed offset, in a call that saves no register; where it does
# not fit, the same code takes glibc's dynamic path. The default dialect calls __tls_get_addr()
# on every access, registers saved around it: in each NVMe submission (lib/mem's translation
# cache). docs/mem.md, "Thread-locals"; test/fio/check.sh checks the block stays small.
ifeq ($(FIO_ENGINE),y)
FIO_ENGINE_SO := $(B)/lib/fio_updk.so
FIO_ENGINE_OBJS := $(patsubst %.c,$(B)/pic/%.o,$(sort $(wildcard plugins/fio/*.c)))
LIB_PIC_OBJS := $(LIB_SRCS:%.c=$(B)/pic/%.o)
PIC_CFLAGS := -fPIC -fvisibility=hidden -DUPDK_DLOPEN \
	$(shell $(CC) -mtls-dialect=gnu2 -E -x c /dev/null >/dev/null 2>&1 && echo -mtls-dialect=gnu2)
# fio's headers as fio compiles them; -isystem: their warnings are fio's, not ours.
FIO_CFLAGS := -isystem $(FIO_SRC) -include $(FIO_SRC)/config-host.h -D_LARGEFILE_SOURCE \
	-D_FILE_OFFSET_BITS=64

$(B)/pic/plugins/fio/%.o: plugins/fio/%.c mk/config.mk plugins/fio/engine.mk $(FIO_SRC)/config-host.h
	$(call quiet,CC,$@)$(CC) $(ALL_CFLAGS) $(PIC_CFLAGS) $(FIO_CFLAGS) \
		-DFU_FIO_VERSION="\"$$(sed -n 's/^DEF_VER=//p' $(FIO_SRC)/FIO-VERSION-GEN)\"" -c $< -o $@
$(B)/pic/%.o: %.c mk/config.mk plugins/fio/engine.mk
	$(call quiet,CC,$@)$(CC) $(ALL_CFLAGS) $(PIC_CFLAGS) -c $< -o $@
$(FIO_ENGINE_SO): $(FIO_ENGINE_OBJS) $(LIB_PIC_OBJS)
	$(call quiet,LD,$@)$(CC) -shared $(LDFLAGS) -Wl,-z,nodelete $^ $(DEP_LIBS) -o $@

all: $(FIO_ENGINE_SO)
check: check-fio
install: $(FIO_ENGINE_SO)
-include $(shell find $(B)/pic -name '*.d' 2>/dev/null)

# After make clean: the source fetched into build/fio went with it.
ifneq ($(filter build/fio/%,$(FIO_SRC)),)
$(FIO_SRC)/config-host.h:
	plugins/fio/fio-source.sh fetch build/fio >/dev/null
endif
endif

# The engine's model ring: fio on sim.nvme (test/fio/check.sh; it also tries make install).
check-fio: $(if $(FIO_ENGINE_SO),$(FIO_ENGINE_SO) $(LIBUPDK) $(APPS),no-fio-engine)
	test/fio/check.sh
no-fio-engine:
	@echo "the fio engine is not built: ./configure --with-fio (docs/fio.md)" >&2; exit 1
.PHONY: check-fio no-fio-engine

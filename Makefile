# Thin wrapper around meson/ninja: the targets people type. See README.md.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
MESON_OPTS ?=
# CI builds with -Werror; so does anyone who sets WERROR=1.
ifneq ($(CI)$(WERROR),)
MESON_OPTS += -Dwerror=true
endif
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10
VALGRIND = valgrind --quiet --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite --show-leak-kinds=definite --track-fds=no

.PHONY: all deps run check fullcheck asan fuzz fuzz-build bench install docs clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

deps:
	@scripts/install-deps

run: deps
	@$(MAKE) --no-print-directory all
	scripts/xend-run $(BUILD)

# The test suite over the main build plus a short smoke run of every fuzz target.
check: deps
	@$(MAKE) --no-print-directory all fuzz-build
	FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) scripts/run-tests $(BUILD) $(FUZZ_BUILD)

# The same suite under valgrind memcheck (C test programs wrapped, xend started under it).
fullcheck: deps
	@$(MAKE) --no-print-directory all
	XEND_WRAPPER="$(VALGRIND)" scripts/run-tests --wrap "$(VALGRIND)" $(BUILD)

asan: deps
	test -f $(ASAN_BUILD)/build.ninja || meson setup $(ASAN_BUILD) $(MESON_OPTS) \
		-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		scripts/run-tests $(ASAN_BUILD)

fuzz-build:
	test -f $(FUZZ_BUILD)/build.ninja || CC=clang meson setup $(FUZZ_BUILD) -Dfuzzing=true
	ninja -C $(FUZZ_BUILD)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/run-tests $(FUZZ_BUILD)

bench: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/bench/xend-bench -x $(BUILD)/src/xm/xm $(BUILD)/src/daemon/xend
	bench/qemu-bench.py $(BUILD)

docs: all
	cp $(BUILD)/docs/api.md $(BUILD)/docs/errors.md docs/

install: all
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

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
ASAN_MESON_OPTS = -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
# asan and fullcheck run every suite but the QEMU tier (suite 'qemu': the QEMU driver's
# tests, xm-test-qemu, the test guest's boot). Those spend their ~10 minutes in real TCG
# guests, i.e. in QEMU, which is not our code; the code they drive is the same daemon the
# other suites check under the sanitizers and valgrind.
NO_QEMU = --no-suite qemu

.PHONY: all deps run check fullcheck asan asan-build fuzz fuzz-build bench install docs clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

deps:
	@scripts/install-deps

run: deps
	@$(MAKE) --no-print-directory all
	scripts/xend-run $(BUILD)

# The test suite over the main build plus a short smoke run of every fuzz target. With
# CHECK_ASAN=1 (set by CI, .ci/run) it also runs what `make asan` runs, and the last line
# "N passed, N failed, N skipped" counts both.
check: deps
	@$(MAKE) --no-print-directory all fuzz-build $(if $(CHECK_ASAN),asan-build)
	FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) scripts/run-tests $(BUILD) $(FUZZ_BUILD) \
		$(if $(CHECK_ASAN),--sanitized $(NO_QEMU) $(ASAN_BUILD))

# Everything but the QEMU tier under valgrind memcheck: the C test programs run under it,
# and every xend, xm, libxend client and validator server the other tests start (run-tests
# hands the command line over in XEND_WRAPPER; xm-test wraps only its daemon, since xm
# itself is checked by the xm suites); every bound the tests wait for is scaled by 20.
fullcheck: deps
	@$(MAKE) --no-print-directory all
	scripts/run-tests --wrap "$(VALGRIND)" $(NO_QEMU) $(BUILD)

# clang, as for the fuzz targets: its ASan and UBSan share one runtime, so UBSan's reports
# land in the log_path run-tests collects too (GCC's separate libubsan writes them only to
# stderr), and it catches UB that GCC folds away (offsetof through a null pointer). A tree
# set up earlier with gcc keeps gcc: remove it.
asan-build:
	test -f $(ASAN_BUILD)/build.ninja || CC=clang meson setup $(ASAN_BUILD) $(MESON_OPTS) \
		$(ASAN_MESON_OPTS)
	ninja -C $(ASAN_BUILD)

# Everything but the QEMU tier built with ASan+UBSan: any report is fatal to its process
# and is also collected by run-tests, which counts each one as a failure (scripts/run-tests).
asan: deps
	@$(MAKE) --no-print-directory asan-build
	scripts/run-tests --sanitized $(NO_QEMU) $(ASAN_BUILD)

fuzz-build:
	test -f $(FUZZ_BUILD)/build.ninja || CC=clang meson setup $(FUZZ_BUILD) -Dfuzzing=true
	ninja -C $(FUZZ_BUILD)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/run-tests $(FUZZ_BUILD)

bench: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/bench/xend-bench -x $(BUILD)/src/xm/xm $(BUILD)/src/daemon/xend
	bench/tls-bench.py $(BUILD)
	bench/qemu-bench.py $(BUILD)

docs: all
	cp $(BUILD)/docs/api.md $(BUILD)/docs/errors.md docs/

install: all
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

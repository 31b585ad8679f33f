# loupe — build, test and benchmark.
#
#   make                  the host ./loupe and the Lua module ./loupe.so
#   make test             C unit tests (cmocka) and Lua tests; ends with "N passed, N failed"
#   make SANITIZE=1 test  the same under AddressSanitizer + UBSan (build in build-san/)
#   make bench            benchmarks (programs, not tests)
#   make fuzz             libFuzzer targets for the file parsers (tests/fuzz/), FUZZ_SECONDS each
#   make fuzz-smoke       the same for 10 s per target (CI)
#   make valgrind         the misuse battery and the limits test under valgrind (build-vg/)
#   make deps             installs the Debian packages the build and tests need
#   make data             fetches MNIST and Fashion-MNIST into datasets/ (if missing)
#   make deps WITH_BROWSER=1  also chromium, for the test that renders a report headless
#   make demo             deps, build, data, a short tour, then every experiment and its report
#
# The C core (src/*.c, src/ops/*.c, src/nn/*.c, src/data/*.c, src/plot/*.c) is compiled once
# into a static library that is linked into the host (with the bindings and src/host/) and into
# loupe.so (with the bindings).

DEBIAN_PKGS = gcc make pkg-config liblua5.4-dev lua5.4 libopenblas-openmp-dev liblapacke-dev \
              libpng-dev zlib1g-dev libjpeg-dev libreadline-dev libjson-c-dev libcmocka-dev \
              libfftw3-dev libcairo2-dev fonts-dejavu-core clang libclang-rt-14-dev libomp-14-dev \
              valgrind
# The report screenshot test (tests/lua/test_runner.lua) runs when chromium is installed.
ifeq ($(WITH_BROWSER),1)
DEBIAN_PKGS += chromium
endif

PKG = lua5.4 openblas lapacke libpng libjpeg zlib json-c cairo
CC ?= cc
ifeq ($(FUZZ),1)
# the libFuzzer build (make fuzz): clang, coverage for the fuzzer, ASan + UBSan
BUILD = build-fuzz
CC = clang
OPT = -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
      -fno-sanitize-recover=undefined
else ifeq ($(VALGRIND),1)
# for make valgrind: no -march=native, as valgrind cannot decode AVX-512
BUILD = build-vg
OPT = -O2 -g
HOST = $(BUILD)/loupe
MODULE = $(BUILD)/loupe.so
else ifeq ($(SANITIZE),1)
BUILD = build-san
OPT = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
HOST = $(BUILD)/loupe
MODULE = $(BUILD)/loupe.so
else
BUILD = build
OPT = -O3 -march=native -g
HOST = loupe
MODULE = loupe.so
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKG) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKG) 2>/dev/null)
CFLAGS = -std=c11 -D_GNU_SOURCE $(OPT) -fopenmp -fPIC -fno-math-errno -Wall -Wextra \
         -Wno-unused-parameter -Wshadow -Iinclude $(PKG_CFLAGS)
LDLIBS = $(PKG_LIBS) -lm -fopenmp
ifeq ($(FUZZ),1)
CFLAGS += -Wno-unknown-pragmas -Wno-pass-failed # GCC's ivdep; omp simd loops clang leaves
endif
LDFLAGS = $(if $(filter 1,$(SANITIZE)),-fsanitize=address$(,)undefined)
, := ,

CORE_SRC = $(wildcard src/*.c src/ops/*.c src/nn/*.c src/data/*.c src/plot/*.c)
BIND_SRC = $(wildcard src/lua/*.c)
HOST_SRC = $(wildcard src/host/*.c)
CTEST_SRC = $(wildcard tests/c/test_*.c)
BENCH_SRC = $(wildcard tests/bench/*.c)

CORE_OBJ = $(CORE_SRC:%.c=$(BUILD)/%.o)
BIND_OBJ = $(BIND_SRC:%.c=$(BUILD)/%.o)
HOST_OBJ = $(HOST_SRC:%.c=$(BUILD)/%.o)
CTESTS = $(CTEST_SRC:tests/c/%.c=$(BUILD)/tests/%)
BENCHES = $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)
CORE_LIB = $(BUILD)/libloupe.a

.PHONY: all test ctest luatest bench deps data demo clean fuzz fuzz-smoke fuzzers valgrind
all: $(HOST) $(MODULE)

$(BUILD)/%.o: %.c $(wildcard include/loupe/*.h) $(wildcard src/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(CORE_LIB): $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(HOST): $(HOST_OBJ) $(BIND_OBJ) $(CORE_LIB)
	$(CC) $(LDFLAGS) -o $@ $(HOST_OBJ) $(BIND_OBJ) $(CORE_LIB) $(LDLIBS) -lreadline -Wl,-E

# Lua symbols come from the interpreter that loads the module, as for every Lua C module.
$(MODULE): $(BIND_OBJ) $(CORE_LIB)
	$(CC) $(LDFLAGS) -shared -o $@ $(BIND_OBJ) $(CORE_LIB) \
	    $(filter-out -llua5.4,$(PKG_LIBS)) -lm -fopenmp

$(BUILD)/tests/%: tests/c/%.c $(CORE_LIB) tests/c/check.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -Itests/c -o $@ $< $(CORE_LIB) $(LDLIBS) -lcmocka

$(BUILD)/bench/%: tests/bench/%.c $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(CORE_LIB) $(LDLIBS)

# Tests: every C test binary, then the Lua suite through the host; tests/summary.sh adds
# up the counts and prints the closing line.
test: $(HOST) $(MODULE) $(CTESTS) data
	@LOUPE=./$(HOST) MODULE=./$(MODULE) SANITIZE=$(SANITIZE) sh tests/run_all.sh $(CTESTS)

bench: $(HOST) $(BENCHES)
	@# loupe itself runs with passive OpenMP waiting (the host sets it); so do the C benchmarks
	@for b in $(BENCHES); do OMP_WAIT_POLICY=$${OMP_WAIT_POLICY:-passive} $$b || exit 1; done
	@for s in tests/bench/*.lua; do ./$(HOST) $$s || exit 1; done

# Fuzzing (tests/fuzz/): every parser of outside data under libFuzzer, ASan and UBSan, built
# with clang into build-fuzz/. Each target starts from its committed seed corpus and adds what
# it finds to build-fuzz/corpus/<target>/; a crash stops that target, keeps the input as
# build-fuzz/crash-* and fails the make once all have run (tests/fuzz/run.sh). FUZZ_SECONDS
# per target; FUZZ_TARGETS="fuzz_idx fuzz_mat" picks some.
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS = $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(FUZZ_SRC:tests/fuzz/%.c=%)

fuzz:
	@$(MAKE) --no-print-directory FUZZ=1 fuzzers
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

# (the bindings are named here so that make keeps them rather than deleting intermediates)
fuzzers: $(BIND_OBJ) $(FUZZERS)

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(CORE_LIB) $(BIND_OBJ)
	$(CC) $(CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(BIND_OBJ) $(CORE_LIB) \
	    $(LDLIBS)

# The misuse battery (tests/lua/misuse_battery.lua) and tests/lua/test_limits.lua under
# valgrind's memcheck, one thread (tests/valgrind.sh; suppressions: tests/valgrind.supp).
valgrind:
	@$(MAKE) --no-print-directory VALGRIND=1 build-vg/loupe
	@sh tests/valgrind.sh build-vg/loupe

deps:
	@missing=""; for p in $(DEBIAN_PKGS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
	        || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	else echo "all Debian packages present"; fi

# The default data (the experiments and the tests need it): skipped when already there.
data:
	@datasets/fetch mnist && datasets/fetch fashion-mnist

# The demo: a short tour of the tensor API, then every experiment (QUICK=1: in --quick mode),
# leaving the report in out/run-<date>/index.html.
demo: deps all data
	./$(HOST) lua/demo.lua
	./$(HOST) run experiments $(if $(QUICK),--quick)

clean:
	rm -rf build build-san build-vg build-fuzz loupe loupe.so

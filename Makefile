# loupe — build, test and benchmark.
#
#   make                  the host ./loupe and the Lua module ./loupe.so
#   make test             C unit tests (cmocka) and Lua tests; ends with "N passed, N failed"
#   make SANITIZE=1 test  the same under AddressSanitizer + UBSan (build in build-san/)
#   make bench            benchmarks (programs, not tests)
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
              libfftw3-dev libcairo2-dev fonts-dejavu-core
# The report screenshot test (tests/lua/test_runner.lua) runs when chromium is installed.
ifeq ($(WITH_BROWSER),1)
DEBIAN_PKGS += chromium
endif

PKG = lua5.4 openblas lapacke libpng libjpeg zlib json-c cairo
CC ?= cc
ifeq ($(SANITIZE),1)
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

.PHONY: all test ctest luatest bench deps data demo clean
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
	rm -rf build build-san loupe loupe.so

# AmberVault developer entry points.
#   make demo   install what is needed, build, run the quick-start example
#   make test   install what is needed, build, run the C++ and Python tests
#   make bench  run the benchmark harness against kohakuvault
# Variables: PYTHON (default python3), BUILD (build folder), SANITIZE.

PYTHON ?= python3
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
APT_PACKAGES := g++ libsqlite3-dev libgtest-dev libgmock-dev libmsgpack-cxx-dev nlohmann-json3-dev libvalijson-dev
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PYTHONPATH := $(CURDIR)/python$(if $(PYTHONPATH),:$(PYTHONPATH))

.PHONY: all deps deps-apt deps-pip configure build demo test test-cpp test-python bench asan fuzz stubs clean

all: build

deps: deps-apt deps-pip

# System packages, installed only when missing.
deps-apt:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

deps-pip:
	@$(PYTHON) -c "import nanobind, scikit_build_core, pytest, kohakuvault, tqdm, sortedcontainers, numpy, msgpack, cbor2, ormsgpack, lmdb, diskcache" 2>/dev/null || \
	  $(PYTHON) -m pip install -q -r requirements-dev.txt
	@[ -d "$${AMBERVAULT_LEGACY_KV:-.deps/kohakuvault-0.9.0}/kohakuvault" ] || \
	  $(PYTHON) -m pip install -q --no-deps --target "$${AMBERVAULT_LEGACY_KV:-.deps/kohakuvault-0.9.0}" kohakuvault==0.9.0

configure: deps
	@[ -f $(BUILD)/CMakeCache.txt ] || cmake -S . -B $(BUILD) -G Ninja \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DPython_EXECUTABLE=$$(command -v $(PYTHON)) \
	  $(if $(SANITIZE),-DAMBERVAULT_SANITIZE=$(SANITIZE))

build: configure
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(PYTHON) examples/quickstart.py

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-cpp: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) -E pytest

test-python: build
	$(PYTHON) -m pytest -q tests

bench: build
	$(PYTHON) bench/bench_kv.py
	$(PYTHON) bench/bench_packer.py
	$(PYTHON) bench/bench_kv_values.py

# C++ tests under AddressSanitizer and UndefinedBehaviorSanitizer.
asan: deps
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DAMBERVAULT_SANITIZE=address,undefined -DAMBERVAULT_BUILD_PYTHON=OFF \
	  -DAMBERVAULT_INSTALL=OFF
	cmake --build build-asan -j $(JOBS)
	ctest --test-dir build-asan --output-on-failure -j $(JOBS)

# libFuzzer (clang, with ASan and UBSan) over every fuzz target, FUZZ_RUNS
# inputs each, starting from the checked-in corpora (new finds stay in
# $(FUZZ_BUILD)/corpus-*; copy the interesting ones into fuzz/corpus/).
# FUZZ_SANITIZE=undefined (in another FUZZ_BUILD) runs about 3x faster:
#   make fuzz FUZZ_TARGETS=column_index FUZZ_RUNS=10000000 \
#        FUZZ_SANITIZE=undefined FUZZ_BUILD=build-fuzz-ubsan FUZZ_FLAGS=-entropic=0
FUZZ_RUNS ?= 1000000
FUZZ_TARGETS ?= packer value_codec value_header column_index
FUZZ_SANITIZE ?= address,undefined
FUZZ_BUILD ?= build-fuzz
FUZZ_FLAGS ?=
fuzz: deps
	@command -v clang++ >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq clang; }
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DAMBERVAULT_FUZZ=ON -DAMBERVAULT_SANITIZE=$(FUZZ_SANITIZE) \
	  -DAMBERVAULT_BUILD_PYTHON=OFF -DAMBERVAULT_INSTALL=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addsuffix _fuzzer,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do mkdir -p $(FUZZ_BUILD)/corpus-$$t && \
	  $(FUZZ_BUILD)/$${t}_fuzzer -runs=$(FUZZ_RUNS) -max_len=4096 -print_final_stats=1 $(FUZZ_FLAGS) \
	    $(FUZZ_BUILD)/corpus-$$t fuzz/corpus/$$t || exit 1; done

# Regenerate python/ambervault/_core.pyi from the built module.
stubs: build
	PYTHONPATH=python $(PYTHON) -m nanobind.stubgen -q -m ambervault._core \
	  -p python/bindings/stubgen_patterns.txt -o python/ambervault/_core.pyi

clean:
	rm -rf $(BUILD) build-asan build-fuzz build-fuzz-ubsan $(FUZZ_BUILD) python/ambervault/_core*.so

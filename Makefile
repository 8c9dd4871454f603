# Makefile -- short names for the CMake builds (README.md shows the two
# commands a new user runs).  Release build in build/, sanitizer build in
# build-debug/.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?=

.PHONY: all build debug demo check valgrind bench docs clean

all: build

build:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
	cmake --build build -j $(JOBS)

debug:
	cmake -S . -B build-debug -DCMAKE_BUILD_TYPE=Debug
	cmake --build build-debug -j $(JOBS)

# The main job, offline, on the bundled data.
demo: build
	./scripts/demo

# Every test, under AddressSanitizer + UndefinedBehaviorSanitizer, with a
# throw-away PostgreSQL server for the store tests.
check: debug
	./scripts/with-postgres ctest --test-dir build-debug --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# The integration tests (levbot, exsim and the suites that drive them)
# under valgrind's memcheck in a build without sanitizers (build-vg/):
# fails on any leak or memory error in our processes.
valgrind:
	./scripts/valgrind-check

bench: build
	@ls build/bench/*/bench_* 2>/dev/null | sed 's/^/built: /'

# Regenerate .env.example and the README's configuration table from the
# configuration table (src/core/cfg/*.def).
docs: build
	./scripts/gen-config-docs build/levbot

clean:
	rm -rf build build-debug

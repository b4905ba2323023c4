# Thin wrapper around CMake presets (CMakePresets.json). `make run` and `make test` are the two
# commands the README starts with; both install missing Debian packages when run as root.
JOBS ?= 2
# ccache: paths inside the tree are hashed relative to it, so every clone shares the cache.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
BIN := build/release/proxy/etcd-health-proxy

PKG_DIR := build/package

.PHONY: all deps build package run test test-release test-asan test-tsan test-fuzz format clean

all: build

deps:
	@tests/scripts/install-deps.sh

build: deps
	cmake --preset release -G "Unix Makefiles" >/dev/null
	cmake --build build/release -j $(JOBS)

# The Debian package, in $(PKG_DIR) (the Dockerfile runs exactly this).
package: build
	cd build/release && cpack -G DEB -B $(CURDIR)/$(PKG_DIR)
	@ls $(PKG_DIR)/*.deb

# A local 3-member etcd cluster with TLS and the proxy in front of it; Ctrl-C stops everything.
# ETCD=3.4 runs Debian 12's etcd instead of the newest 3.5 the build fetched (or ETCD=3.5.16).
ETCD ?= 3.5
run: build
	tests/scripts/run-local.sh --etcd=$(ETCD) $(BIN) .run

# Every test, in the release build and under ASan+UBSan and TSan, and a short fuzzing run.
test: deps test-release test-asan test-tsan test-fuzz

test-release:
	cmake --preset release -G "Unix Makefiles" >/dev/null
	cmake --build build/release -j $(JOBS)
	cd build/release && ctest --output-on-failure -j $(JOBS)

test-asan:
	cmake --preset asan -G "Unix Makefiles" >/dev/null
	cmake --build build/asan -j $(JOBS)
	cd build/asan && ASAN_OPTIONS=detect_leaks=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

test-tsan:
	cmake --preset tsan -G "Unix Makefiles" >/dev/null
	cmake --build build/tsan -j $(JOBS)
	cd build/tsan && TSAN_OPTIONS="halt_on_error=1 ignore_noninstrumented_modules=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	  ctest --output-on-failure -j $(JOBS)

# libFuzzer targets (clang) on the corpus in tests/fuzz/corpus, FUZZ_SECONDS each.
FUZZ_SECONDS ?= 20
test-fuzz:
	cmake --preset fuzz -G "Unix Makefiles" >/dev/null
	cmake --build build/fuzz -j $(JOBS)
	tests/scripts/run-fuzzers.sh build/fuzz $(FUZZ_SECONDS)

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf build .run

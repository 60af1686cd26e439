#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit (cmocka), fuzz corpus replay, and the
# integration tests that start the real relay and clients (inside a private network namespace, so
# they need root). Then the unit and fuzz suites again under AddressSanitizer + UBSan.
# Extra arguments go to the first `meson test`. Integration logs are kept in tests/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
scripts/build.sh
mkdir -p tests/out
export CR_TEST_OUT="$PWD/tests/out"
meson test -C build --print-errorlogs "$@"

if [ $# -eq 0 ]; then
  if [ ! -f build-asan/build.ninja ]; then
    meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true \
      -Dclient=false >/dev/null
  fi
  ninja -C build-asan >/dev/null
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --print-errorlogs --suite unit --suite fuzz
fi

#!/usr/bin/env bash
# Cross-compiles stripped, static Hearth binaries for the boards people run
# at home, with the version stamped in. Output: dist/hearth-<os>-<arch>.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
mkdir -p dist
build() { # GOOS GOARCH [GOARM] name
  local out="dist/hearth-$4"
  CGO_ENABLED=0 GOOS="$1" GOARCH="$2" GOARM="${3:-}" \
    go build -trimpath -ldflags "-s -w -X main.version=${version}" -o "$out" .
  printf '%-28s %6s KiB\n' "$out" "$(( $(stat -c %s "$out") / 1024 ))"
}
build linux arm64 "" linux-arm64
build linux arm 7 linux-armv7
build linux arm 6 linux-armv6
build linux amd64 "" linux-amd64

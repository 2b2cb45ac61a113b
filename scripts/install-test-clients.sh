#!/usr/bin/env bash
# Installs the real RocketMQ clients the interop tests (tests/interop_*.rs) drive, into .cache/:
#   .cache/node/node_modules  npm ali-ons, exactly as pinned by tests/interop/node/package-lock.json
#   .cache/venv               PyPI rocketmq==0.4.4 (bundles the native rocketmq-client-cpp)
# plus the Debian libraries the native library links against, when they are missing.
# The Rust client (crates.io rocketmq-client-rust) is a cargo dependency of tests/rust-client.
# Idempotent: a second run checks what is there and installs nothing. Needs Node 20 + npm,
# Python 3.11 and network access to the npm registry, PyPI and (only if needed) Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
cache="$root/.cache"
mkdir -p "$cache"

step() { printf '\n== %s\n' "$*"; }
elapsed() { echo "   ($(($(date +%s) - $1)) s)"; }

python_version=0.4.4

step "npm ali-ons (tests/interop/node/package-lock.json)"
started=$(date +%s)
node_dir="$cache/node"
mkdir -p "$node_dir"
# npm ci installs from the lock file only; redo it whenever the committed files change.
if ! cmp -s tests/interop/node/package-lock.json "$node_dir/package-lock.json" \
  || ! cmp -s tests/interop/node/package.json "$node_dir/package.json" \
  || [ ! -d "$node_dir/node_modules/ali-ons" ]; then
  cp tests/interop/node/package.json tests/interop/node/package-lock.json "$node_dir/"
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
NODE_PATH="$node_dir/node_modules" node -e '
  const { Producer, Consumer, Message } = require("ali-ons");
  if (!Producer || !Consumer || !Message) throw new Error("ali-ons exports missing");
  console.log("   ali-ons " + require("ali-ons/package.json").version + ", node " + process.version);'
elapsed "$started"

step "native libraries for rocketmq-client-cpp"
started=$(date +%s)
# librocketmq.so (inside the wheel) links libstdc++, libgcc_s, libpthread, libdl, librt, libm and
# its own zlib; only the C++ runtime can be absent from a minimal Debian.
if ! ldconfig -p | grep -q 'libstdc++\.so\.6 '; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "libstdc++6 is missing: run as root, or apt-get install libstdc++6" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libstdc++6 libgcc-s1
fi
echo "   libstdc++.so.6 present"
elapsed "$started"

step "PyPI rocketmq==$python_version (.cache/venv)"
started=$(date +%s)
venv="$cache/venv"
if [ ! -x "$venv/bin/python" ]; then
  # Debian's own python3 ships venv separately; pyenv and python.org builds include it.
  if ! python3 -m venv "$venv"; then
    rm -rf "$venv"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
    python3 -m venv "$venv"
  fi
fi
if ! "$venv/bin/python" -m pip show rocketmq 2>/dev/null | grep -qx "Version: $python_version"; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "rocketmq==$python_version"
fi
so=$("$venv/bin/python" -c 'import os, rocketmq; print(os.path.join(os.path.dirname(rocketmq.__file__), "librocketmq.so"))')
if ldd "$so" | grep -q 'not found'; then
  echo "librocketmq.so has unresolved libraries:" >&2
  ldd "$so" | grep 'not found' >&2
  exit 1
fi
# Importing rocketmq.client loads the native library and binds its functions.
"$venv/bin/python" -c '
import importlib.metadata, sys
from rocketmq.client import Producer, PushConsumer
producer = Producer("install_check")
producer.set_namesrv_addr("127.0.0.1:9876")
print("   rocketmq", importlib.metadata.version("rocketmq"), "(rocketmq-client-cpp), python", sys.version.split()[0])'
elapsed "$started"

step "done: the interop tests will run these clients"

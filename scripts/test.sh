#!/usr/bin/env bash
# Runs every test: installs what the tests need (Debian 12 packages, as
# root or through sudo), then `cargo test` without and with the `llvm`
# feature. The committed test data needs no compiler to be read; the LLVM
# 14, 16 and 19 tools (llvm-dis, llvm-bcanalyzer) are the oracles the tests
# compare with, clang-19 and lld-19 compile, link and run renamed programs,
# llvm-19-dev is what the `llvm` feature builds against, python3 runs the
# benchmarks' program generator, which a test builds a program with, and
# bsdutils' `script` gives a test a terminal.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(llvm-14 llvm-16 llvm-19 llvm-19-dev libpolly-19-dev libzstd-dev zlib1g-dev clang-19 libclang-rt-19-dev lld-19 make python3 bsdutils)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

export LLVM_SYS_191_PREFIX=${LLVM_SYS_191_PREFIX:-/usr/lib/llvm-19}
cargo test --locked
cargo test --locked --features llvm

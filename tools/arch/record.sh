#!/usr/bin/env bash
# Records what glibc's headers say about the structs ffi/structs.ts declares,
# for x86_64 (native gcc) and aarch64 (Debian's cross gcc, run under
# qemu-user), into tools/arch/layouts_<arch>.json. tests/arch_layout_test.ts
# asserts the declared layouts against these files, so rerun this after
# adding a struct to the probe and commit the result.
#
# Needs: gcc, gcc-aarch64-linux-gnu, qemu-user (apt-get install -y ...).
set -euo pipefail
cd "$(dirname "$0")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

gcc -Wall -Wextra -Werror -o "$tmp/probe_x86_64" layout_probe.c
"$tmp/probe_x86_64" > layouts_x86_64.json

aarch64-linux-gnu-gcc -Wall -Wextra -Werror -o "$tmp/probe_aarch64" layout_probe.c
QEMU_LD_PREFIX="${QEMU_LD_PREFIX:-/usr/aarch64-linux-gnu}" qemu-aarch64 "$tmp/probe_aarch64" \
  > layouts_aarch64.json

echo "recorded: $(ls layouts_*.json | tr '\n' ' ')"

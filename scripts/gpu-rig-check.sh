#!/usr/bin/env bash
# The GPU check for a machine with a real GPU (an NVIDIA H200 here), in one run that fits a
# 15-minute device window. Two steps:
#
#   scripts/gpu-rig-check.sh prepare      # here: build, copy the binaries to .device-bin/
#   scripts/gpu-rig-check.sh run OUTDIR   # there: GPU tests, then bench per workgroup size
#                                         # and with version rolling
#
# The rig has no network, so it runs binaries built here (x86-64): the release `hashforge` and
# the GPU test binary. `prepare` also fetches the Vulkan loader packages into .gl/ where they
# are not there yet (see the device tool's README); both folders are git-ignored and carried.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
prepare)
  cargo build --release --bin hashforge
  test_bin=$(cargo test --release --test gpu --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "gpu" and m.get("executable"):
        print(m["executable"])' | tail -1)
  mkdir -p .device-bin
  cp target/release/hashforge "$test_bin" .device-bin/
  mv ".device-bin/$(basename "$test_bin")" .device-bin/gpu-tests
  # The tests run the binary from where cargo built it: that path is remade on the rig.
  realpath target/release/hashforge >.device-bin/hashforge-path
  grep -qx '/.device-bin/' .git/info/exclude 2>/dev/null || echo /.device-bin/ >>.git/info/exclude
  du -sh .device-bin
  ;;
run)
  out=${2:?an output folder}
  mkdir -p "$out"
  # The Vulkan loader, carried as packages (the rig's image may lack it).
  if [ -d .gl ]; then for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig; fi
  if [ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  fi
  export XDG_RUNTIME_DIR=$(mktemp -d) CI=true
  hf=.device-bin/hashforge
  { nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,power.draw --format=csv || true; } | tee "$out/gpu.txt"
  "$hf" --version | tee -a "$out/gpu.txt"
  "$hf" devices | tee -a "$out/gpu.txt"
  # The GPU tests on the real device (the preferred adapter is the H200). They spawn the binary
  # from the path it was built at here.
  built=$(cat .device-bin/hashforge-path)
  mkdir -p "$(dirname "$built")" && cp -n "$hf" "$built" || true
  timeout 300 .device-bin/gpu-tests --test-threads 1 2>&1 | tail -40 | tee "$out/tests.txt"
  # Rates: each workgroup size with its own tuned batch, twice, interleaved; then the default
  # (auto) and a batch of 2^28. The ceiling to compare with is about 6.8 GH/s.
  for round in 1 2; do
    for wg in 64 128 256; do
      "$hf" bench --backend gpu --gpu-workgroup "$wg" --seconds 10 --json | tee -a "$out/bench.jsonl"
    done
  done
  "$hf" bench --backend gpu --seconds 10 --json 2>&1 | tee -a "$out/bench.jsonl"
  "$hf" bench --backend gpu --gpu-batch 268435456 --seconds 10 --json | tee -a "$out/bench.jsonl"
  # Version rolling: the plain and the 4-version kernel in turns ("vs_plain" is the ratio).
  "$hf" bench --backend gpu --version-rolling --seconds 5 --json | tee -a "$out/bench.jsonl"
  ;;
*)
  echo "usage: $0 prepare | run OUTDIR" >&2
  exit 2
  ;;
esac

#!/usr/bin/env bash
# Make sure the Debian packages the project needs are present:
#   chromium   — its SwiftShader Vulkan driver is the software WebGPU adapter, and it runs the browser tests
#   libvulkan1 — the Vulkan loader Dawn opens
#   dataset-fashion-mnist — real data for training (only with --with-data)
# Installs them when run as root with apt-get; otherwise prints the command to run.
set -euo pipefail
want=(chromium libvulkan1)
[[ "${1:-}" == "--with-data" ]] && want+=(dataset-fashion-mnist)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "nfnet-webgpu: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "nfnet-webgpu: missing Debian packages: ${missing[*]}" >&2
echo "  install them with:  sudo apt-get install ${missing[*]}" >&2
echo "  (on another system, provide a Vulkan loader and a WebGPU-capable driver, or set VK_ICD_FILENAMES)" >&2
exit 1

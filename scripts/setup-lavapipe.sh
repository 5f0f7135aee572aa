#!/usr/bin/env bash
# Install Mesa's lavapipe as a second software WebGPU adapter (`npm run setup:lavapipe`).
#
# Dawn needs Mesa >= 23: Debian 12's lavapipe (Mesa 22.3) lacks the Vulkan feature
# shaderUniformBufferArrayDynamicIndexing, so Dawn gives no adapter for it. Where the
# system's Mesa is new enough this script only checks it; on Debian 12 it installs the
# system package for lavapipe's libraries (LLVM 15, xcb, wayland) and unpacks the newer
# driver from bookworm-backports into the user's cache, without adding that suite to the
# system's apt sources:
#   ${XDG_CACHE_HOME:-~/.cache}/nfnet-webgpu/lavapipe/{libvulkan_lvp.so,lvp_icd.json}
# `init({ softwareAdapter: 'lavapipe' })`, NFNET_SOFTWARE_ADAPTER=lavapipe or the CLI's
# `--software-adapter lavapipe` then use it (docs/adapters.md).
set -euo pipefail
dest="${XDG_CACHE_HOME:-$HOME/.cache}/nfnet-webgpu/lavapipe"
say() { echo "nfnet-webgpu: $*" >&2; }

mesa_version() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true; }
new_enough() { [[ -n "$1" ]] && dpkg --compare-versions "$1" ge 23; }

if [[ $(uname -m) != x86_64 ]]; then
  say "this script unpacks the x86-64 driver; on $(uname -m) install Mesa >= 23's mesa-vulkan-drivers instead"
  exit 1
fi
if [[ -f "$dest/lvp_icd.json" && -f "$dest/libvulkan_lvp.so" ]]; then
  say "lavapipe already set up in $dest"
  exit 0
fi
if new_enough "$(mesa_version)"; then
  say "the system's lavapipe (Mesa $(mesa_version)) is new enough; nothing to install"
  exit 0
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  say "lavapipe for WebGPU needs Mesa >= 23 (installed: $(mesa_version || true)); run this script as root on Debian,"
  say "  or install Mesa >= 23 elsewhere and set VK_ICD_FILENAMES to its lvp_icd json (with --software-adapter lavapipe)"
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [[ -z "$(mesa_version)" ]]; then
  say "installing mesa-vulkan-drivers (lavapipe's libraries)"
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends mesa-vulkan-drivers >/dev/null
fi
if new_enough "$(mesa_version)"; then
  say "installed lavapipe (Mesa $(mesa_version))"
  exit 0
fi
if [[ "$codename" != bookworm ]]; then
  say "the system's Mesa $(mesa_version) is too old for Dawn and this script only knows Debian 12's backports; install Mesa >= 23"
  exit 1
fi

# A private apt state: the backports list is read for this download only.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main" >"$work/sources.list"
apt_private=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=$work/none"
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Sandbox::User=root")
say "downloading mesa-vulkan-drivers from bookworm-backports"
apt-get "${apt_private[@]}" update -qq >/dev/null
(cd "$work" && apt-get "${apt_private[@]}" download -qq mesa-vulkan-drivers >/dev/null)
deb=$(ls "$work"/mesa-vulkan-drivers_*.deb)
dpkg-deb -x "$deb" "$work/root"
mkdir -p "$dest"
cp "$work/root/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so" "$dest/"
api=$(sed -n 's/.*"api_version": *"\([^"]*\)".*/\1/p' "$work/root/usr/share/vulkan/icd.d/lvp_icd.json")
cat >"$dest/lvp_icd.json" <<EOF
{
    "ICD": {
        "api_version": "$api",
        "library_path": "$dest/libvulkan_lvp.so"
    },
    "file_format_version": "1.0.0"
}
EOF
say "lavapipe from $(basename "$deb") is in $dest"

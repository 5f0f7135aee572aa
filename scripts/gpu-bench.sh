#!/usr/bin/env bash
# The bench on a machine with a real GPU (Vulkan through Dawn), next to PyTorch/timm.
#
#   scripts/gpu-bench.sh pack            # here (no GPU needed): build .tmp/gpu/ — bench bundle,
#                                        # webgpu linux-x64 (dawn.node), Node binary, Vulkan loader
#   scripts/gpu-bench.sh run [args...]   # on the GPU machine, in the repository root, with .tmp/gpu/
#                                        # carried over (it is git-ignored); args go to the bench
#                                        # (default: --full --no-fast)
#
# `run` unpacks Node and the webgpu folder when the machine has no usable ones, points
# VK_ICD_FILENAMES / VK_DRIVER_FILES at the NVIDIA Vulkan ICD (writing one for
# libGLX_nvidia.so.0 if the driver ships none), runs the bench bundle, and — when python3
# can import torch and timm — times timm dm_nfnet_f0 fp32 training steps with
# bench/peers/timm_f0.py. Both go into docs/bench/gpu-<date>.json:
#   { "schema": "nfnet-webgpu-gpu-bench/1", "date", "nvidiaSmi", "icd",
#     "ours": <the bench JSON, schema nfnet-webgpu-bench/1>,
#     "timm": <timm_f0.py JSON> | { "skipped": "why" },
#     "sideBySide": [ { "what", "ours img/s", "timm img/s", "timm/ours" } ] }
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
GPU_DIR=${GPU_DIR:-$ROOT/.tmp/gpu}
cmd=${1:-run}
shift || true

pack() {
  mkdir -p "$GPU_DIR"
  # 1. The bench as one ESM file: every package bundled except the native addons (webgpu,
  #    @resvg/resvg-js: shipped beside it) and vega's optional canvas; WGSL embedded.
  node --input-type=module -e "
    import * as esbuild from 'esbuild';
    await esbuild.build({
      entryPoints: ['bench/main.ts'], outfile: '$GPU_DIR/bench.mjs', bundle: true, platform: 'node',
      format: 'esm', target: 'node20', loader: { '.wgsl': 'text' }, external: ['webgpu', '@resvg/resvg-js', 'canvas'],
      // CommonJS dependencies inside an ESM bundle need a require().
      banner: { js: \"import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);\" },
      logLevel: 'warning',
    });"
  # 2. webgpu (Dawn for Node): the package's JS plus the linux-x64 addon only.
  rm -rf "$GPU_DIR/node_modules/webgpu" && mkdir -p "$GPU_DIR/node_modules/webgpu/dist"
  cp node_modules/webgpu/{package.json,index.js} "$GPU_DIR/node_modules/webgpu/"
  cp -r node_modules/webgpu/dist/linux-x64 "$GPU_DIR/node_modules/webgpu/dist/"
  rm -rf "$GPU_DIR/node_modules/@resvg" && mkdir -p "$GPU_DIR/node_modules/@resvg"
  cp -r node_modules/@resvg/resvg-js node_modules/@resvg/resvg-js-linux-x64-gnu "$GPU_DIR/node_modules/@resvg/"
  # 3. Node (this machine's binary, xz-compressed) and the Vulkan loader, in case the GPU machine lacks them.
  tar -C "$(dirname "$(readlink -f "$(command -v node)")")" -cJf "$GPU_DIR/node-linux-x64.tar.xz" node
  cp -L /usr/lib/x86_64-linux-gnu/libvulkan.so.1 "$GPU_DIR/" 2>/dev/null || true
  du -sh "$GPU_DIR"
  echo "carry .tmp/gpu to the GPU machine, then: scripts/gpu-bench.sh run"
}

nvidia_icd() {
  local f
  for f in "${VK_ICD_FILENAMES:-}" /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
           /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json /usr/local/share/vulkan/icd.d/nvidia_icd.json; do
    [[ -n "$f" && -f "$f" ]] && grep -qi nvidia "$f" && { echo "$f"; return; }
  done
  # The NVIDIA driver's Vulkan ICD lives in libGLX_nvidia.so.0; describe it ourselves.
  if ldconfig -p 2>/dev/null | grep -q libGLX_nvidia.so.0 || ls /usr/lib/x86_64-linux-gnu/libGLX_nvidia.so.0 >/dev/null 2>&1; then
    f="$GPU_DIR/nvidia_icd.json"
    printf '{ "file_format_version": "1.0.0", "ICD": { "library_path": "libGLX_nvidia.so.0", "api_version": "1.3" } }\n' >"$f"
    echo "$f"
    return
  fi
  echo ""
}

run() {
  [[ -f "$GPU_DIR/bench.mjs" ]] || { echo "gpu-bench: $GPU_DIR/bench.mjs missing: run 'scripts/gpu-bench.sh pack' first and carry .tmp/gpu" >&2; exit 1; }
  # Node >= 20: the machine's, else the carried one.
  local node_bin
  node_bin=$(command -v node || true)
  if [[ -z "$node_bin" ]] || ! "$node_bin" -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
    tar -C "$GPU_DIR" -xJf "$GPU_DIR/node-linux-x64.tar.xz"
    node_bin="$GPU_DIR/node"
  fi
  # Vulkan: the NVIDIA ICD; the carried loader when the system has none.
  local icd
  icd=$(nvidia_icd)
  [[ -n "$icd" ]] || { echo "gpu-bench: no NVIDIA Vulkan ICD found (is the NVIDIA driver installed?)" >&2; exit 1; }
  export VK_ICD_FILENAMES="$icd" VK_DRIVER_FILES="$icd" XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
  if ! ldconfig -p 2>/dev/null | grep -q libvulkan.so.1 && [[ -f "$GPU_DIR/libvulkan.so.1" ]]; then
    export LD_LIBRARY_PATH="$GPU_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
  local date out tmp
  date=$(date -u +%Y-%m-%d)
  out=${OUT_JSON:-$ROOT/docs/bench/gpu-$date.json}
  tmp=$(mktemp -d)
  mkdir -p "$(dirname "$out")"
  local args=("$@")
  [[ ${#args[@]} -gt 0 ]] || args=(--full --no-fast)
  echo "gpu-bench: node $("$node_bin" --version), ICD $icd" >&2
  (cd "$GPU_DIR" && "$node_bin" bench.mjs "${args[@]}" --json "$tmp/ours.json" --html "$tmp/ours.html") | tee "$tmp/ours.txt"
  cp "$tmp/ours.html" "${out%.json}.html" 2>/dev/null || true
  # timm dm_nfnet_f0, when PyTorch + timm are importable.
  if python3 -c 'import torch, timm' 2>/dev/null; then
    python3 bench/peers/timm_f0.py --json "$tmp/timm.json" || echo '{"skipped": "timm_f0.py failed"}' >"$tmp/timm.json"
  else
    echo '{"skipped": "python3 cannot import torch and timm"}' >"$tmp/timm.json"
  fi
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$tmp/smi.txt" 2>/dev/null || echo unknown >"$tmp/smi.txt"
  "$node_bin" --input-type=module -e "
    import { readFileSync, writeFileSync } from 'node:fs';
    const ours = JSON.parse(readFileSync('$tmp/ours.json', 'utf8'));
    const timm = JSON.parse(readFileSync('$tmp/timm.json', 'utf8'));
    const ips = (name) => { const r = ours.rows.find((x) => x.name === name); return r?.ours?.itemsPerS ?? null; };
    const side = (timm.results ?? []).map((t) => {
      const o = ips('step/F0/b' + t.batch + 'x' + t.resolution);
      return { what: 'F0 train step, batch ' + t.batch + ' @ ' + t.resolution + ' px, fp32', 'ours img/s': o, 'timm img/s': t.imgPerS, 'timm/ours': o ? t.imgPerS / o : null };
    });
    writeFileSync('$out', JSON.stringify({
      schema: 'nfnet-webgpu-gpu-bench/1', date: new Date().toISOString(),
      nvidiaSmi: readFileSync('$tmp/smi.txt', 'utf8').trim(), icd: '$icd', ours, timm, sideBySide: side,
    }, null, 2));
    console.log('wrote $out');
    console.table(side);"
  rm -rf "$tmp"
}

case "$cmd" in
  pack) pack ;;
  run) run "$@" ;;
  *) echo "usage: scripts/gpu-bench.sh pack | run [bench args...]" >&2; exit 2 ;;
esac

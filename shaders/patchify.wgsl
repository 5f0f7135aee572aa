// Patchify, the layout step of a ViT's patch embedding: NHWC x [N, H, W, C] →
// [N, (H/p)·(W/p), p·p·C], patches row by row, each patch's values in (py, px, c) order — the
// order of an HWIO conv weight flattened to [p·p·C, D], so patchify + matmul is the p×p
// stride-p conv. One invocation per element; the map is a bijection, so the backward is the
// same index map run the other way (a scatter with no collisions).

struct Params {
  n: u32,       // elements
  h: u32,
  w: u32,
  c: u32,
  p: u32,
  gw: u32,      // W / p: patches per row
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

override WG: u32 = 256u;

// The NHWC index of element o of the patchified tensor.
fn image_index(o: u32) -> u32 {
  let k = params.p * params.p * params.c;         // values per patch
  let patches = (params.h / params.p) * params.gw;
  let e = o % k;
  let cell = (o / k) % patches;
  let n = o / (k * patches);
  let y = (cell / params.gw) * params.p + e / (params.p * params.c);
  let x = (cell % params.gw) * params.p + (e / params.c) % params.p;
  return ((n * params.h + y) * params.w + x) * params.c + e % params.c;
}

@compute @workgroup_size(WG)
fn patchify(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = flat_workgroup(wid, nwg) * WG + lid;
  if (o >= params.n) { return; }
  dst[o] = src[image_index(o)];
}

// The backward: dy in patch layout (src) → dx in NHWC (dst).
@compute @workgroup_size(WG)
fn unpatchify(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = flat_workgroup(wid, nwg) * WG + lid;
  if (o >= params.n) { return; }
  dst[image_index(o)] = src[o];
}

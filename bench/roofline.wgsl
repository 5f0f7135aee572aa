// Roofline probes for `npm run bench`: the highest multiply-add rate and the highest
// copy bandwidth a plain WGSL kernel reaches on this adapter. Every bench row reports
// its speed as a percentage of the ceiling that bounds it.

struct Params {
  n: u32,       // fma: iterations per invocation; copy: vec4 elements to copy
  seed: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

override WG: u32 = 64u;

// 8 independent vec4 multiply-add chains per invocation: 32 scalar FMAs = 64 FLOP per
// iteration, no memory traffic inside the loop. The result is written so nothing is
// optimised away.
@compute @workgroup_size(WG)
fn fma(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  let s = params.seed + f32(i) * 1e-7;
  let m = vec4<f32>(0.999999, 0.999998, 0.999997, 0.999996);
  let d = vec4<f32>(1e-7 * s);
  var c0 = vec4<f32>(s); var c1 = c0 + 0.1; var c2 = c0 + 0.2; var c3 = c0 + 0.3;
  var c4 = c0 + 0.4; var c5 = c0 + 0.5; var c6 = c0 + 0.6; var c7 = c0 + 0.7;
  for (var it = 0u; it < params.n; it += 4u) {
    c0 = c0 * m + d; c1 = c1 * m + d; c2 = c2 * m + d; c3 = c3 * m + d;
    c4 = c4 * m + d; c5 = c5 * m + d; c6 = c6 * m + d; c7 = c7 * m + d;
    c0 = c0 * m + d; c1 = c1 * m + d; c2 = c2 * m + d; c3 = c3 * m + d;
    c4 = c4 * m + d; c5 = c5 * m + d; c6 = c6 * m + d; c7 = c7 * m + d;
    c0 = c0 * m + d; c1 = c1 * m + d; c2 = c2 * m + d; c3 = c3 * m + d;
    c4 = c4 * m + d; c5 = c5 * m + d; c6 = c6 * m + d; c7 = c7 * m + d;
    c0 = c0 * m + d; c1 = c1 * m + d; c2 = c2 * m + d; c3 = c3 * m + d;
    c4 = c4 * m + d; c5 = c5 * m + d; c6 = c6 * m + d; c7 = c7 * m + d;
  }
  dst[i] = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7;
}

// dst[i] = src[i] over vec4 elements (32 bytes of traffic each); each invocation copies
// PER elements in a grid-stride loop.
override PER: u32 = 1u;

@compute @workgroup_size(WG)
fn copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let total = nwg.x * WG;
  for (var j = 0u; j < PER; j++) {
    let i = gid.x + j * total;
    if (i < params.n) { dst[i] = src[i]; }
  }
}

// Counter-based random numbers (Philox-4x32-10): element i of a tensor drawn with key k is a
// pure function of (k, i), computed with 32-bit integer arithmetic only, so every adapter
// produces the same bits. Normals use Box-Muller on two of the four words.

struct Params {
  n: u32,
  key_lo: u32,
  key_hi: u32,
  offset: u32,       // counter offset (lets one key fill several tensors independently)
  p0: f32,           // uniform: low, normal: mean
  p1: f32,           // uniform: high, normal: std
  p2: f32,           // uniform: the largest f32 below high (p0 + (p1 - p0)·u can round up to p1)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;
// 0 = uniform [p0, p1), 1 = normal(p0, p1)
override DIST: u32 = 0u;

// (0, 1]: never 0, so log() in Box-Muller is finite.
fn to_unit(x: u32) -> f32 {
  return (f32(x >> 8u) + 1.0) * (1.0 / 16777216.0);
}

@compute @workgroup_size(WG)
fn draw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_workgroup(wid, nwg) * WG + gid.x % WG;
  if (i >= params.n) { return; }
  let bits = philox(vec4<u32>(i + params.offset, 0u, 0u, 0u), vec2<u32>(params.key_lo, params.key_hi));
  if (DIST == 0u) {
    out[i] = min(params.p0 + (params.p1 - params.p0) * (to_unit(bits.x) - 1.0 / 16777216.0), params.p2);
  } else {
    let r = sqrt(-2.0 * log(to_unit(bits.x)));
    let theta = 6.283185307179586 * to_unit(bits.y);
    out[i] = params.p0 + params.p1 * r * cos(theta);
  }
}

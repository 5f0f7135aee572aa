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

// High 32 bits of a 32x32-bit product, from 16-bit halves (WGSL has no 64-bit integers).
fn mulhi(a: u32, b: u32) -> u32 {
  let a_lo = a & 0xffffu; let a_hi = a >> 16u;
  let b_lo = b & 0xffffu; let b_hi = b >> 16u;
  let lo_lo = a_lo * b_lo;
  let mid1 = a_hi * b_lo;
  let mid2 = a_lo * b_hi;
  let carry = ((lo_lo >> 16u) + (mid1 & 0xffffu) + (mid2 & 0xffffu)) >> 16u;
  return a_hi * b_hi + (mid1 >> 16u) + (mid2 >> 16u) + carry;
}

fn philox(counter: vec4<u32>, key_in: vec2<u32>) -> vec4<u32> {
  var c = counter;
  var k = key_in;
  for (var r = 0u; r < 10u; r++) {
    let hi0 = mulhi(0xD2511F53u, c.x); let lo0 = 0xD2511F53u * c.x;
    let hi1 = mulhi(0xCD9E8D57u, c.z); let lo1 = 0xCD9E8D57u * c.z;
    c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

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

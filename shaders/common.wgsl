// Helpers shared by every kernel family (prepended to each shader by the runtime).

// Linear dispatches larger than 65535 workgroups are folded by the runtime into a 2-D
// grid; a kernel recovers its flat workgroup index with this.
fn flat_workgroup(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// (b, y, x, c) of element i of an NHWC tensor [_, h, w, c]: the index split the pooling,
// padding and phase-scatter kernels share (one place for the divisions).
fn nhwc_of(i: u32, h: u32, w: u32, c: u32) -> vec4<u32> {
  let pixel = i / c;
  return vec4<u32>(pixel / (w * h), (pixel / w) % h, pixel % w, i % c);
}

// Rank-8 shapes and strides travel in uniforms as array<vec4<u32>, 2>; read dimension d
// as `params.shape[d >> 2u][d & 3u]` in place. (A helper taking the array by value copies
// it on every call, which made broadcasting 10x slower on SwiftShader.)

// NaN and ±inf cannot be WGSL constant expressions (const-eval rejects them), so they are
// made at run time from private variables.
var<private> NAN_BITS: u32 = 0x7fc00000u;
var<private> POS_INF_BITS: u32 = 0x7f800000u;
fn f32_nan() -> f32 { return bitcast<f32>(NAN_BITS); }
fn f32_inf() -> f32 { return bitcast<f32>(POS_INF_BITS); }

// Philox-4x32-10, the counter-based generator behind randn/uniform (random.wgsl) and the
// dropout / stochastic-depth masks (dropout.wgsl): one copy, so the two can never drift.
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


// Helpers shared by every kernel family (prepended to each shader by the runtime).

// Linear dispatches larger than 65535 workgroups are folded by the runtime into a 2-D
// grid; a kernel recovers its flat workgroup index with this.
fn flat_workgroup(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
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

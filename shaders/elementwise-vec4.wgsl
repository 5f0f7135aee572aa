// Same-shape binary ops over contiguous operands, and broadcasts along rows, streamed as
// vec4s or as mat4x4s: one load per operand and one store per 4 (vec4) or 16 (mat4x4)
// elements. On SwiftShader an invocation is a SIMD lane, so per-invocation work (index
// math, bounds tests) costs as much as an element, and with Dawn's robustness on (the
// default) every access also pays an index clamp: a vec4 add on 16M elements cost twice
// its robustness-off time, and the same add as mat4x4s (`binary16`) 41 ms against 62
// (equal with robustness off; streamsMat4x4 in src/ops/util.ts). More vec4s per lane
// (2 or 4, each a WG apart) measured equal to one. The op codes (BINARY_*) are written
// above this file from the table in src/ops/binary.ts, as for elementwise.wgsl.

struct Params {
  n4: u32,   // vec4s in the output (elements / 4)
  // binary_broadcast only (rank ≤ 4 after coalescing, padded at the front): the output's
  // shape and each operand's element strides, 0 on broadcast dimensions.
  shape4: vec4<u32>,
  a4: vec4<u32>,
  b4: vec4<u32>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
// The same operands seen 16 elements at a time, for the `…16` entries (only the variables
// an entry uses are in its pipeline's layout, so each entry binds one view of each).
@group(0) @binding(4) var<storage, read> a16: array<mat4x4<f32>>;
@group(0) @binding(5) var<storage, read> b16: array<mat4x4<f32>>;
@group(0) @binding(6) var<storage, read_write> out16: array<mat4x4<f32>>;

override OP: u32 = 0u;
override WG: u32 = 256u;

fn mask(m: vec4<bool>) -> vec4<f32> {
  return select(vec4<f32>(0.0), vec4<f32>(1.0), m);
}

fn binary_op4(x: vec4<f32>, y: vec4<f32>) -> vec4<f32> {
  switch OP {
    case BINARY_ADD: { return x + y; }
    case BINARY_SUB: { return x - y; }
    case BINARY_MUL: { return x * y; }
    case BINARY_DIV: { return x / y; }
    case BINARY_MAXIMUM: { return max(x, y); }
    case BINARY_MINIMUM: { return min(x, y); }
    case BINARY_GT: { return mask(x > y); }
    case BINARY_GE: { return mask(x >= y); }
    case BINARY_EQ: { return mask(x == y); }
    case BINARY_LT: { return mask(x < y); }
    case BINARY_LE: { return mask(x <= y); }
    default: { return x; }
  }
}

fn binary_op16(x: mat4x4<f32>, y: mat4x4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(binary_op4(x[0], y[0]), binary_op4(x[1], y[1]), binary_op4(x[2], y[2]), binary_op4(x[3], y[3]));
}

// The coordinates of output element i in the (rank-4, front-padded) output shape.
fn broadcast_coord(i: u32) -> vec4<u32> {
  let s = params.shape4;
  let r3 = i / s.w;
  let r2 = r3 / s.z;
  return vec4<u32>(r2 / s.y, r2 % s.y, r3 % s.z, i % s.w);
}

// A broadcasting binary op whose operands are both contiguous along the output's last
// dimension, a multiple of 4 (a bias [C] or a gate [B, 1, C] against [B·H·W, C]): the four
// elements of an output vec4 sit in one vec4 of each operand, whose index follows from
// the first element's coordinates. One vec4 per invocation.
@compute @workgroup_size(WG)
fn binary_broadcast(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = flat_workgroup(wid, nwg) * WG + lid;
  if (q >= params.n4) { return; }
  let coord = broadcast_coord(4u * q);
  out[q] = binary_op4(a[dot(coord, params.a4) / 4u], b[dot(coord, params.b4) / 4u]);
}

// binary_broadcast 16 elements at a time: the last dimension a multiple of 16.
@compute @workgroup_size(WG)
fn binary_broadcast16(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = flat_workgroup(wid, nwg) * WG + lid;
  if (q >= params.n4 / 4u) { return; }
  let coord = broadcast_coord(16u * q);
  out16[q] = binary_op16(a16[dot(coord, params.a4) / 16u], b16[dot(coord, params.b4) / 16u]);
}

// Same shapes, n a multiple of 16: one mat4x4 per invocation.
@compute @workgroup_size(WG)
fn binary16(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = flat_workgroup(wid, nwg) * WG + lid;
  if (q < params.n4 / 4u) { out16[q] = binary_op16(a16[q], b16[q]); }
}

// Same shapes, n a multiple of 4 (but not of 16): one vec4 per invocation.
@compute @workgroup_size(WG)
fn binary(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_workgroup(wid, nwg) * WG + lid;
  if (i < params.n4) { out[i] = binary_op4(a[i], b[i]); }
}

// Same-shape binary ops over contiguous operands, streamed as vec4s: one 16-byte load per
// operand and one 16-byte store per four elements, VECS vec4s per invocation (the host
// picks 1: BINARY_VEC4S in src/ops/binary.ts says why). On SwiftShader an invocation is a
// SIMD lane, so per-invocation work (index math, bounds tests) costs as much as an
// element: vec4 accesses pay it once per 4·VECS elements, with one load instruction per
// operand instead of four. The k-th vec4 of a lane sits WG vec4s after its (k−1)-th, so
// neighbouring lanes touch neighbouring vec4s at every step. The op codes (BINARY_*) are
// written above this file from the table in src/ops/binary.ts, as for elementwise.wgsl.

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

override OP: u32 = 0u;
override WG: u32 = 256u;
// vec4s per invocation; written out below (a loop here would not be unrolled).
override VECS: u32 = 4u;

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

fn step4(i: u32) {
  if (i < params.n4) { out[i] = binary_op4(a[i], b[i]); }
}

// A broadcasting binary op whose operands are both contiguous along the output's last
// dimension, a multiple of 4 (a bias [C] or a gate [B, 1, C] against [B·H·W, C]): the four
// elements of an output vec4 sit in one vec4 of each operand, whose index follows from
// the first element's coordinates. One vec4 per invocation.
@compute @workgroup_size(WG)
fn binary_broadcast(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = flat_workgroup(wid, nwg) * WG + lid;
  if (q >= params.n4) { return; }
  let i = 4u * q;
  let s = params.shape4;
  let r3 = i / s.w;
  let r2 = r3 / s.z;
  let coord = vec4<u32>(r2 / s.y, r2 % s.y, r3 % s.z, i % s.w);
  out[q] = binary_op4(a[dot(coord, params.a4) / 4u], b[dot(coord, params.b4) / 4u]);
}

@compute @workgroup_size(WG)
fn binary(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_workgroup(wid, nwg) * WG * VECS + lid;
  step4(i);
  if (VECS >= 2u) { step4(i + WG); }
  if (VECS >= 4u) { step4(i + 2u * WG); step4(i + 3u * WG); }
}

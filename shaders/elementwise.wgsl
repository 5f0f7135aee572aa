// Elementwise kernels: unary map, broadcasting binary map, broadcasting select.
// The operation is an override constant, so each op code is its own pipeline (no branch
// in the inner loop) while one shader serves them all. The op codes (UNARY_*, BINARY_*)
// are not declared here: the runtime writes them above this file from the tables in
// src/ops/elementwise.ts, their only definition.

struct Params {
  n: u32,            // output elements
  rank: u32,         // output rank (<= 8), used when BROADCAST
  alpha: f32,        // scalar operand (pow exponent, affine scale)
  beta: f32,         // second scalar (affine shift)
  out_shape: array<vec4<u32>, 2>,
  a_strides: array<vec4<u32>, 2>,   // 0 on broadcast dimensions
  b_strides: array<vec4<u32>, 2>,
  c_strides: array<vec4<u32>, 2>,
  // The same view for ranks <= 4, innermost dimension last, padded with size 1 in front:
  // plain vectors index far faster than uniform arrays on SwiftShader.
  shape4: vec4<u32>,
  a4: vec4<u32>,
  b4: vec4<u32>,
  c4: vec4<u32>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> c: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

override OP: u32 = 0u;
override WG: u32 = 256u;
override BROADCAST: bool = false;
// Rank of the (coalesced) broadcast; a constant so the index loop unrolls.
override RANK: u32 = 1u;
// Consecutive elements per invocation: 4 when n (and, broadcasting, the innermost
// coalesced dimension) is a multiple of 4. On SwiftShader an invocation is one SIMD lane,
// so its index math and bounds test cost as much as the element itself; four elements
// per invocation pay them once (measured 2× on add/1M). The host guarantees the
// divisibility, so the loop needs no bounds test of its own.
override ELEMS: u32 = 1u;

// The unary op OP selects (UNARY_* codes from src/ops/elementwise.ts).
fn unary_op(x: f32) -> f32 {
  switch OP {
    case UNARY_NEG: { return -x; }
    case UNARY_EXP: { return exp(x); }
    case UNARY_LOG: { return log_ieee(x); }
    case UNARY_SQRT: { return sqrt(x); }
    case UNARY_RSQRT: { return inverseSqrt(x); }
    case UNARY_SQUARE: { return x * x; }
    case UNARY_RELU: { return max(x, 0.0); }
    case UNARY_ABS: { return abs(x); }
    case UNARY_SIGN: { return sign(x); }
    case UNARY_POW: { return pow_scalar(x, params.alpha); }
    case UNARY_AFFINE: { return x * params.alpha + params.beta; }
    case UNARY_SIGMOID: { return 1.0 / (1.0 + exp(-x)); }
    case UNARY_TANH: { return tanh_stable(x); }
    case UNARY_STEP: { return select(0.0, 1.0, x > 0.0); }
    case UNARY_RECIPROCAL: { return 1.0 / x; }
    default: { return x; }
  }
}

// log with IEEE special values: SwiftShader's log gives log(0) = -88 and log(-1) = 0.
fn log_ieee(x: f32) -> f32 {
  if (x > 0.0) { return log(x); }
  if (x == 0.0) { return -f32_inf(); }
  return f32_nan();   // x < 0 or NaN
}

// tanh that saturates to ±1 (SwiftShader's builtin returns NaN for x < -44 and loses
// relative precision near 0): odd Taylor series below 0.3, (1 - e^-2|x|)/(1 + e^-2|x|) above.
fn tanh_stable(x: f32) -> f32 {
  let ax = abs(x);
  if (ax < 0.3) {
    let x2 = x * x;
    return x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0 + x2 * (62.0 / 2835.0)))));
  }
  let e = exp(-2.0 * ax);
  let t = (1.0 - e) / (1.0 + e);
  return select(t, -t, x < 0.0);
}

// pow with a real exponent, defined for negative bases when the exponent is an integer
// (WGSL's pow is undefined for x < 0).
fn pow_scalar(x: f32, e: f32) -> f32 {
  if (e == 0.0) { return 1.0; }
  if (e == 1.0) { return x; }
  if (e == 2.0) { return x * x; }
  let m = pow(abs(x), e);
  if (x >= 0.0) { return m; }
  if (fract(e) != 0.0) { return f32_nan(); }   // NaN, as in IEEE pow
  return select(m, -m, fract(e * 0.5) != 0.0);
}

// The binary op OP selects (BINARY_* codes from src/ops/elementwise.ts).
fn binary_op(x: f32, y: f32) -> f32 {
  switch OP {
    case BINARY_ADD: { return x + y; }
    case BINARY_SUB: { return x - y; }
    case BINARY_MUL: { return x * y; }
    case BINARY_DIV: { return x / y; }
    case BINARY_MAXIMUM: { return max(x, y); }
    case BINARY_MINIMUM: { return min(x, y); }
    case BINARY_GT: { return select(0.0, 1.0, x > y); }
    case BINARY_GE: { return select(0.0, 1.0, x >= y); }
    case BINARY_EQ: { return select(0.0, 1.0, x == y); }
    case BINARY_LT: { return select(0.0, 1.0, x < y); }
    case BINARY_LE: { return select(0.0, 1.0, x <= y); }
    default: { return x; }
  }
}

fn thread_index(gid: vec3<u32>, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return flat_workgroup(wid, nwg) * WG + gid.x % WG;
}

// Offsets of output element i in inputs laid out with the given (broadcast) strides.
fn broadcast_offsets(i: u32) -> vec3<u32> {
  if (RANK <= 4u) {
    let s = params.shape4;
    let r3 = i / s.w;
    let r2 = r3 / s.z;
    let coord = vec4<u32>(r2 / s.y, r2 % s.y, r3 % s.z, i % s.w);
    return vec3<u32>(dot(coord, params.a4), dot(coord, params.b4), dot(coord, params.c4));
  }
  var rem = i;
  var off = vec3<u32>(0u);
  for (var d = i32(RANK) - 1; d >= 0; d--) {
    let du = u32(d);
    let size = params.out_shape[du >> 2u][du & 3u];
    let coord = rem % size;
    rem = rem / size;
    off += coord * vec3<u32>(params.a_strides[du >> 2u][du & 3u], params.b_strides[du >> 2u][du & 3u], params.c_strides[du >> 2u][du & 3u]);
  }
  return off;
}

@compute @workgroup_size(WG)
fn unary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_index(gid, wid, nwg) * ELEMS;
  if (i >= params.n) { return; }
  out[i] = unary_op(a[i]);
  if (ELEMS == 4u) {   // written out: a loop here is not unrolled and costs the gain
    out[i + 1u] = unary_op(a[i + 1u]);
    out[i + 2u] = unary_op(a[i + 2u]);
    out[i + 3u] = unary_op(a[i + 3u]);
  }
}

@compute @workgroup_size(WG)
fn binary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_index(gid, wid, nwg) * ELEMS;
  if (i >= params.n) { return; }
  var oa = i;
  var ob = i;
  var sa = 1u;
  var sb = 1u;
  if (BROADCAST) {
    let o = broadcast_offsets(i);
    oa = o.x; ob = o.y; sa = params.a4.w; sb = params.b4.w;
  }
  out[i] = binary_op(a[oa], b[ob]);
  if (ELEMS == 4u) {   // written out: a loop here is not unrolled and costs the gain
    out[i + 1u] = binary_op(a[oa + sa], b[ob + sb]);
    out[i + 2u] = binary_op(a[oa + 2u * sa], b[ob + 2u * sb]);
    out[i + 3u] = binary_op(a[oa + 3u * sa], b[ob + 3u * sb]);
  }
}

// out = c != 0 ? a : b, all three broadcast to the output shape.
@compute @workgroup_size(WG)
fn where_select(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_index(gid, wid, nwg) * ELEMS;
  if (i >= params.n) { return; }
  let o = broadcast_offsets(i);
  out[i] = select(b[o.y], a[o.x], c[o.z] != 0.0);
  if (ELEMS == 4u) {
    let s = vec3<u32>(params.a4.w, params.b4.w, params.c4.w);
    let o1 = o + s; let o2 = o1 + s; let o3 = o2 + s;
    out[i + 1u] = select(b[o1.y], a[o1.x], c[o1.z] != 0.0);
    out[i + 2u] = select(b[o2.y], a[o2.x], c[o2.z] != 0.0);
    out[i + 3u] = select(b[o3.y], a[o3.x], c[o3.z] != 0.0);
  }
}

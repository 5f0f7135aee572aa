// Dropout and stochastic depth: out[i] = x[i] · keep(unit(i)) · scale, where the keep bit
// of a unit is Philox(key, unit) ≥ rate. The mask is never stored: the backward is this
// same kernel applied to dy with the same key (the op is linear in x), so forward and
// backward always agree. unit(i) = i / unit_size: 1 for dropout (each element), the
// sample size for stochastic depth (each sample of the batch).
//
// The counter scheme matches shaders/random.wgsl (draw, DIST = 0), so the mask equals
// `uniform(shape, { seed }) >= rate` (philox() lives in common.wgsl, shared with random.wgsl).

struct Params {
  n: u32,
  unit_size: u32,
  key_lo: u32,
  key_hi: u32,
  rate: f32,
  scale: f32,   // 1/(1 − rate) for inverted dropout, 1 for stochastic depth
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
// The same buffers 16 elements at a time, for apply_mask16 (each entry binds one view).
@group(0) @binding(3) var<storage, read> x16: array<mat4x4<f32>>;
@group(0) @binding(4) var<storage, read_write> out16: array<mat4x4<f32>>;

override WG: u32 = 256u;
// Consecutive elements per invocation (1, or 4 when n % 4 == 0): see ELEMS in elementwise.wgsl.
override ELEMS: u32 = 1u;
override SHARED_UNIT: bool = false;

// [0, 1) in steps of 2^-24, as random.wgsl's uniform draw.
fn uniform01(unit: u32) -> f32 {
  let bits = philox(vec4<u32>(unit, 0u, 0u, 0u), vec2<u32>(params.key_lo, params.key_hi));
  return f32(bits.x >> 8u) * (1.0 / 16777216.0);
}

@compute @workgroup_size(WG)
fn apply_mask(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (flat_workgroup(wid, nwg) * WG + lid) * ELEMS;
  if (i >= params.n) { return; }
  let keep = uniform01(i / params.unit_size) >= params.rate;
  out[i] = select(0.0, x[i] * params.scale, keep);
  if (ELEMS == 4u) {
    // SHARED_UNIT: the four elements lie in one unit (unit_size % 4 == 0): one draw.
    var keep4 = vec3<bool>(keep);
    if (!SHARED_UNIT) {
      keep4 = vec3<bool>(uniform01((i + 1u) / params.unit_size) >= params.rate,
                         uniform01((i + 2u) / params.unit_size) >= params.rate,
                         uniform01((i + 3u) / params.unit_size) >= params.rate);
    }
    out[i + 1u] = select(0.0, x[i + 1u] * params.scale, keep4.x);
    out[i + 2u] = select(0.0, x[i + 2u] * params.scale, keep4.y);
    out[i + 3u] = select(0.0, x[i + 3u] * params.scale, keep4.z);
  }
}

// apply_mask 16 elements at a time, all in one unit (unit_size and n multiples of 16: the
// samples of stochastic depth and drop path): one draw and one mat4x4 load and store per
// invocation. apply_mask draws once per 4 elements, and the draw (Philox's 32-bit
// multiplies, emulated on a CPU adapter) was most of its time: 2.2 ms for nano's
// 100,352-element stochastic depth.
@compute @workgroup_size(WG)
fn apply_mask16(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = flat_workgroup(wid, nwg) * WG + lid;
  if (q >= params.n / 16u) { return; }
  let keep = uniform01(16u * q / params.unit_size) >= params.rate;
  let v = x16[q];
  let z = vec4<f32>(0.0);
  // select(), not a product with 0: a dropped NaN or inf still gives 0, as in apply_mask.
  out16[q] = mat4x4<f32>(select(z, v[0] * params.scale, keep), select(z, v[1] * params.scale, keep),
                         select(z, v[2] * params.scale, keep), select(z, v[3] * params.scale, keep));
}

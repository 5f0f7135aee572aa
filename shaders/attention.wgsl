// The softmax backward of attention, fused: with P = softmax(S) along each row of length r,
//   dS = P ⊙ (dP − Σ_j dP_j·P_j)
// one invocation per row. As the composite (mul, sum, sub, mul) it was four dispatches and
// three [rows, r] temporaries.
//
// VEC4 (when rows·r % 4 == 0, so the last vec4 ends where the tensors do): the row is read
// as the aligned vec4s that cover it, with the values outside the row masked off. On
// SwiftShader every storage load is a per-lane gather, so this takes about a quarter of the
// loads (rows of 197 are not vec4-aligned, hence the masks rather than plain vec4 rows).
// Writes stay scalar: a vec4 view of the output would be a second writable binding.

struct Params {
  rows: u32,
  r: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> p: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;          // dP
@group(0) @binding(3) var<storage, read_write> out: array<f32>;  // dS
@group(0) @binding(4) var<storage, read> p4: array<vec4<f32>>;   // p and g as vec4s (VEC4)
@group(0) @binding(5) var<storage, read> g4: array<vec4<f32>>;

override WG: u32 = 64u;
override VEC4: bool = false;

// Which of the four values of vec4 q lie in [base, end).
fn in_row(q: u32, base: u32, end: u32) -> vec4<bool> {
  let i = vec4<u32>(4u * q) + vec4<u32>(0u, 1u, 2u, 3u);
  return (i >= vec4<u32>(base)) & (i < vec4<u32>(end));
}

// Store the in-row values of d, the four values of vec4 q.
fn store_in_row(q: u32, base: u32, end: u32, d: vec4<f32>) {
  let i = 4u * q;
  if (i >= base) { out[i] = d.x; }
  if (i + 1u >= base && i + 1u < end) { out[i + 1u] = d.y; }
  if (i + 2u >= base && i + 2u < end) { out[i + 2u] = d.z; }
  if (i + 3u < end) { out[i + 3u] = d.w; }
}

@compute @workgroup_size(WG)
fn softmax_backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = flat_workgroup(wid, nwg) * WG + lid;
  if (row >= params.rows) { return; }
  let base = row * params.r;
  let end = base + params.r;
  if (VEC4) {
    var acc = vec4<f32>(0.0);
    for (var q = base / 4u; q < (end + 3u) / 4u; q++) { acc += select(vec4<f32>(0.0), g4[q] * p4[q], in_row(q, base, end)); }
    let total = dot(acc, vec4<f32>(1.0));
    for (var q = base / 4u; q < (end + 3u) / 4u; q++) { store_in_row(q, base, end, p4[q] * (g4[q] - total)); }
    return;
  }
  var total = 0.0;
  for (var j = base; j < end; j++) { total += g[j] * p[j]; }
  for (var j = base; j < end; j++) { out[j] = p[j] * (g[j] - total); }
}

// The softmax backward of attention, fused: with P = softmax(S) along each row of length r,
//   dS = P ⊙ (dP − Σ_j dP_j·P_j)
// one invocation per row, written over dP in place (dP is a temporary of the backward). As
// the composite (mul, sum, sub, mul) it was four dispatches and three [rows, r] temporaries.

struct Params {
  rows: u32,
  r: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> p: array<f32>;
@group(0) @binding(2) var<storage, read_write> g: array<f32>;   // dP in, dS out

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn softmax_backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = flat_workgroup(wid, nwg) * WG + lid;
  if (row >= params.rows) { return; }
  let base = row * params.r;
  var dot = 0.0;
  for (var j = 0u; j < params.r; j++) { dot += g[base + j] * p[base + j]; }
  for (var j = 0u; j < params.r; j++) { g[base + j] = p[base + j] * (g[base + j] - dot); }
}

// Scaled weight standardization, W viewed as [r, cols] (HWIO: r = kh·kw·cin, cols = cout):
//   d = W − mean_c,  s_c = 1/sqrt(max(Σ d², eps))   (Σ d² = N·var with N = r),  Ŵ = gain·d·s.
// Backward, with x̂ = d·s and t_c = Σ_i dŴ_i·x̂_i:
//   dgain_c = t_c
//   dW_i    = gain·s·(dŴ_i − mean(dŴ) − x̂_i·t_c)   (the x̂·t term vanishes where eps clamps,
//                                                    since s is then a constant)
// One thread per column walks r with stride `cols` (neighbouring threads read neighbouring
// addresses); the elementwise passes use one thread per element.

struct Params {
  r: u32,
  cols: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> gain: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;   // [3, cols]: mean, s, clamped (1/0)
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read> gstats: array<f32>;  // [2, cols]: mean(dŴ), t
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read_write> out2: array<f32>;

override WG: u32 = 64u;

fn thread_id(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return flat_workgroup(wid, nwg) * WG + lid;
}

// Two passes (mean, then Σ d²) so a large mean does not cancel the variance.
@compute @workgroup_size(WG)
fn stats_fwd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = thread_id(lid, wid, nwg);
  if (c >= params.cols) { return; }
  var s = 0.0;
  for (var i = 0u; i < params.r; i++) { s += w[i * params.cols + c]; }
  let mean = s / f32(params.r);
  var q = 0.0;
  for (var i = 0u; i < params.r; i++) {
    let d = w[i * params.cols + c] - mean;
    q += d * d;
  }
  out[c] = mean;
  out[params.cols + c] = inverseSqrt(max(q, params.eps));
  out[2u * params.cols + c] = select(0.0, 1.0, q < params.eps);
}

@compute @workgroup_size(WG)
fn apply_fwd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(lid, wid, nwg);
  if (i >= params.r * params.cols) { return; }
  let c = i % params.cols;
  out[i] = gain[c] * (w[i] - stats[c]) * stats[params.cols + c];
}

// Per column: mean(dŴ) and t = Σ dŴ·x̂; t is also dgain (written to out2).
@compute @workgroup_size(WG)
fn stats_bwd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = thread_id(lid, wid, nwg);
  if (c >= params.cols) { return; }
  let mean = stats[c];
  let s = stats[params.cols + c];
  var sd = 0.0;
  var t = 0.0;
  for (var i = 0u; i < params.r; i++) {
    let o = i * params.cols + c;
    sd += dy[o];
    t += dy[o] * (w[o] - mean) * s;
  }
  out[c] = sd / f32(params.r);
  out[params.cols + c] = t;
  out2[c] = t;
}

@compute @workgroup_size(WG)
fn apply_bwd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_id(lid, wid, nwg);
  if (i >= params.r * params.cols) { return; }
  let c = i % params.cols;
  let s = stats[params.cols + c];
  let xhat = (w[i] - stats[c]) * s;
  let t = select(gstats[params.cols + c], 0.0, stats[2u * params.cols + c] != 0.0);
  out[i] = gain[c] * s * (dy[i] - gstats[c] - xhat * t);
}

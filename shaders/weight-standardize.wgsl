// Scaled weight standardization, W viewed as [r, cols] (HWIO: r = kh·kw·cin, cols = cout):
//   d = W − mean_c,  s_c = 1/sqrt(max(Σ d² + shift, floor))   (Σ d² = N·var, N = r),
//   Ŵ = gain·scale·d·s.
// The two forms in use are the same kernel with different constants:
//   reference (DeepMind): shift = 0, floor = eps, scale = 1   → 1/sqrt(max(N·var, eps))
//   timm (ScaledStdConv2d): shift = N·eps, floor = 0, scale = γ
//                           → γ/sqrt(N·var + N·eps) = γ·N^-½/sqrt(var + eps)
// Backward, with x̂ = d·s and t_c = Σ_i dŴ_i·x̂_i (the derivation holds for any shift):
//   dgain_c = scale·t_c
//   dW_i    = gain·scale·s·(dŴ_i − mean(dŴ) − x̂_i·t_c)   (the x̂·t term vanishes where the
//                                                    floor clamps, since s is then a constant)
// The statistics: one thread per column walks r with stride `cols` (neighbouring threads read
// neighbouring addresses). The apply passes: one thread per column and block of ROWS rows,
// so a column's gain and statistics are read once per block instead of once per element
// (with one thread per element they were 3–6 extra loads and a modulo per element).

struct Params {
  r: u32,
  cols: u32,
  shift: f32,
  floor: f32,
  scale: f32,
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
// Rows per thread of the apply passes (src/ops/weight-standardize.ts sizes the grid with it).
override ROWS: u32 = 16u;

// The column and first row of an apply thread, and its last row (exclusive); row0 ≥ r when
// the thread has no rows.
struct RowBlock { c: u32, row0: u32, end: u32 }

fn row_block(t: u32) -> RowBlock {
  let row0 = (t / params.cols) * ROWS;
  return RowBlock(t % params.cols, row0, min(row0 + ROWS, params.r));
}

fn thread_id(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return flat_workgroup(wid, nwg) * WG + lid;
}

// One pass over the column, on values shifted by its first element k: with a = Σ(x − k) and
// q = Σ(x − k)², mean = k + a/r and Σ d² = q − a²/r. The shift keeps a large common offset
// from cancelling the variance, as a separate mean pass would (that second pass cost a
// whole extra walk over W).
@compute @workgroup_size(WG)
fn stats_fwd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = thread_id(lid, wid, nwg);
  if (c >= params.cols) { return; }
  let k = w[c];
  var a = 0.0;
  var q = 0.0;
  for (var i = 0u; i < params.r; i++) {
    let x = w[i * params.cols + c] - k;
    a += x;
    q += x * x;
  }
  let n = f32(params.r);
  // Rounding can leave a tiny negative; a NaN weight must stay NaN (max(NaN, 0) may drop it, as on SwiftShader).
  let d2 = q - a * a / n;
  let ssd = select(d2, 0.0, d2 < 0.0) + params.shift;
  out[c] = k + a / n;
  out[params.cols + c] = inverseSqrt(select(ssd, params.floor, ssd < params.floor));
  out[2u * params.cols + c] = select(0.0, 1.0, ssd < params.floor);
}

@compute @workgroup_size(WG)
fn apply_fwd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = row_block(thread_id(lid, wid, nwg));
  if (b.row0 >= params.r) { return; }
  let mean = stats[b.c];
  let scale = gain[b.c] * params.scale * stats[params.cols + b.c];
  for (var i = b.row0; i < b.end; i++) {
    let o = i * params.cols + b.c;
    out[o] = (w[o] - mean) * scale;
  }
}

// Per column: mean(dŴ) and t = Σ dŴ·x̂; dgain = scale·t (written to out2).
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
  out2[c] = params.scale * t;
}

@compute @workgroup_size(WG)
fn apply_bwd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = row_block(thread_id(lid, wid, nwg));
  if (b.row0 >= params.r) { return; }
  let c = b.c;
  let mean = stats[c];
  let s = stats[params.cols + c];
  let gs = gain[c] * params.scale * s;
  let mean_dy = gstats[c];
  let t = select(gstats[params.cols + c], 0.0, stats[2u * params.cols + c] != 0.0);
  for (var i = b.row0; i < b.end; i++) {
    let o = i * params.cols + c;
    let xhat = (w[o] - mean) * s;
    out[o] = gs * (dy[o] - mean_dy - xhat * t);
  }
}

// Softmax cross-entropy with label smoothing, fused. With z = logits[row], the smoothed
// target t' = (1 − ε)·t + ε/C and m = max z, s = Σ exp(z − m):
//   row loss = Σ_j t'_j · ((m − z_j) + log s)        (= Σ t'_j · −log softmax_j)
// Written with (m − z_j) first so logits of ±1e4 lose nothing to cancellation.
// Labels arrive as raw 32-bit words: class ids (i32) or, with DENSE, f32 target rows.
// A class id outside [0, C) makes its row's loss NaN (a visible error, not a silent 0).

struct Params {
  n: u32,            // rows (batch)
  c: u32,            // classes
  smoothing: f32,    // ε
  inv_n: f32,        // 1/n: the loss is the mean over rows
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;

override WG: u32 = 256u;
override DENSE: bool = false;

var<workgroup> partial: array<f32, WG>;

// t'_j of one row.
fn target_of(row: u32, j: u32) -> f32 {
  let uniform_part = params.smoothing / f32(params.c);
  if (DENSE) {
    return (1.0 - params.smoothing) * bitcast<f32>(labels[row * params.c + j]) + uniform_part;
  }
  let hit = bitcast<i32>(labels[row]) == i32(j);
  return select(0.0, 1.0 - params.smoothing, hit) + uniform_part;
}

fn label_valid(row: u32) -> bool {
  if (DENSE) { return true; }
  let id = bitcast<i32>(labels[row]);
  return id >= 0 && id < i32(params.c);
}

fn row_max(base: u32) -> f32 {
  var m = -f32_inf();
  for (var j = 0u; j < params.c; j++) { m = max(m, logits[base + j]); }
  return m;
}

fn row_exp_sum(base: u32, m: f32) -> f32 {
  var s = 0.0;
  for (var j = 0u; j < params.c; j++) { s += exp(logits[base + j] - m); }
  return s;
}

fn row_loss(row: u32) -> f32 {
  if (!label_valid(row)) { return f32_nan(); }
  let base = row * params.c;
  let m = row_max(base);
  let log_s = log(row_exp_sum(base, m));
  var l = 0.0;
  for (var j = 0u; j < params.c; j++) {
    l += target_of(row, j) * ((m - logits[base + j]) + log_s);
  }
  return l;
}

// One workgroup: each thread sums a strided set of rows, then a tree reduction — the
// whole forward (per-row log-sum-exp and the batch mean) is this single dispatch.
@compute @workgroup_size(WG)
fn xent_forward(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var row = lid; row < params.n; row += WG) { acc += row_loss(row); }
  partial[lid] = acc;
  workgroupBarrier();
  for (var width = WG / 2u; width > 0u; width /= 2u) {
    if (lid < width) { partial[lid] += partial[lid + width]; }
    workgroupBarrier();
  }
  if (lid == 0u) { loss[0] = partial[0] * params.inv_n; }
}

// One thread per row: dlogits = (softmax · Σ_j t'_j − t') · dy / n. Σ t' is 1 for class
// ids and for normalised targets; it is kept so unnormalised soft targets stay exact.
@compute @workgroup_size(WG)
fn xent_backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = flat_workgroup(wid, nwg) * WG + lid;
  if (row >= params.n) { return; }
  let base = row * params.c;
  let scale = dy[0] * params.inv_n;
  if (!label_valid(row)) {
    for (var j = 0u; j < params.c; j++) { dlogits[base + j] = f32_nan(); }
    return;
  }
  let m = row_max(base);
  let inv_s = 1.0 / row_exp_sum(base, m);
  var target_sum = 0.0;
  for (var j = 0u; j < params.c; j++) { target_sum += target_of(row, j); }
  for (var j = 0u; j < params.c; j++) {
    let p = exp(logits[base + j] - m) * inv_s;
    dlogits[base + j] = (p * target_sum - target_of(row, j)) * scale;
  }
}

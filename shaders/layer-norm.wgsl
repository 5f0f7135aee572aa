// Layer normalization over the last axis of x viewed as [rows, c]:
//   mean, var over the row (population variance), s = 1/sqrt(var + eps),
//   x̂ = (x − mean)·s,  y = x̂·weight + bias.
// Backward, with g = dy·weight:
//   dx = s·(g − mean(g) − x̂·mean(g·x̂))    (per row)
//   dweight = Σ_rows dy·x̂,  dbias = Σ_rows dy   (per column, over rows)
//
// The row kernels give each row LANES invocations (a power of two dividing WG): each lane
// walks the columns lane, lane + LANES, … (neighbouring lanes read neighbouring addresses),
// then the lanes' partial sums meet in a workgroup tree reduction. LANES = 1 is one
// invocation per row with no barrier work at all (what a software adapter wants, where a
// workgroup runs on one CPU thread); a GPU wants 32 or more lanes per row.
//
// The statistics are taken in one pass on values shifted by the row's first element k:
// with a = Σ(x − k) and q = Σ(x − k)², mean = k + a/c and Σ(x − mean)² = q − a²/c. The shift
// keeps a large common offset from cancelling the variance.

struct Params {
  rows: u32,
  c: u32,
  eps: f32,
  // Column kernel: rows per invocation (the rows are split into ceil(rows / chunk) chunks).
  chunk: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;     // [rows, 2]: mean, s
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read_write> out_stats: array<f32>;
@group(0) @binding(8) var<storage, read_write> out2: array<f32>;

override WG: u32 = 64u;
override LANES: u32 = 1u;

var<workgroup> partial: array<vec2<f32>, WG>;

// The row of an invocation and its lane; `live` is false past the last row (such lanes
// still take part in the barriers).
struct Lane { row: u32, lane: u32, live: bool }

fn lane_of(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> Lane {
  let row = flat_workgroup(wid, nwg) * (WG / LANES) + lid / LANES;
  return Lane(row, lid % LANES, row < params.rows);
}

// Sum of v over the LANES lanes of a row (every lane gets the total).
fn row_sum(lid: u32, v: vec2<f32>) -> vec2<f32> {
  if (LANES == 1u) { return v; }
  partial[lid] = v;
  workgroupBarrier();
  for (var width = LANES / 2u; width > 0u; width /= 2u) {
    if (lid % LANES < width) { partial[lid] += partial[lid + width]; }
    workgroupBarrier();
  }
  let total = partial[lid - lid % LANES];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG)
fn forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let l = lane_of(lid, wid, nwg);
  let base = l.row * params.c;
  var acc = vec2<f32>(0.0);
  var k = 0.0;
  if (l.live) {
    k = x[base];
    for (var j = l.lane; j < params.c; j += LANES) {
      let d = x[base + j] - k;
      acc += vec2<f32>(d, d * d);
    }
  }
  let total = row_sum(lid, acc);
  if (!l.live) { return; }
  let n = f32(params.c);
  let mean = k + total.x / n;
  let s = inverseSqrt(max(total.y - total.x * total.x / n, 0.0) / n + params.eps);
  for (var j = l.lane; j < params.c; j += LANES) {
    out[base + j] = (x[base + j] - mean) * s * weight[j] + bias[j];
  }
  if (l.lane == 0u) {
    out_stats[2u * l.row] = mean;
    out_stats[2u * l.row + 1u] = s;
  }
}

@compute @workgroup_size(WG)
fn backward_x(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let l = lane_of(lid, wid, nwg);
  let base = l.row * params.c;
  var acc = vec2<f32>(0.0);
  var mean = 0.0;
  var s = 0.0;
  if (l.live) {
    mean = stats[2u * l.row];
    s = stats[2u * l.row + 1u];
    for (var j = l.lane; j < params.c; j += LANES) {
      let g = dy[base + j] * weight[j];
      acc += vec2<f32>(g, g * (x[base + j] - mean) * s);
    }
  }
  let total = row_sum(lid, acc) / f32(params.c);
  if (!l.live) { return; }
  for (var j = l.lane; j < params.c; j += LANES) {
    let xhat = (x[base + j] - mean) * s;
    out[base + j] = s * (dy[base + j] * weight[j] - total.x - xhat * total.y);
  }
}

// One invocation per (chunk of rows, column): partial dweight into out, dbias into out2,
// each [chunks, c] (the host sums the chunks).
@compute @workgroup_size(WG)
fn backward_params(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  let col = t % params.c;
  let chunk = t / params.c;
  let row0 = chunk * params.chunk;
  if (row0 >= params.rows) { return; }
  let end = min(row0 + params.chunk, params.rows);
  var dw = 0.0;
  var db = 0.0;
  for (var r = row0; r < end; r++) {
    let o = r * params.c + col;
    let g = dy[o];
    dw += g * (x[o] - stats[2u * r]) * stats[2u * r + 1u];
    db += g;
  }
  out[t] = dw;
  out2[t] = db;
}

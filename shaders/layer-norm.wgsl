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
// The same buffers as x, dy, weight, bias read as vec4s (bound when VEC4; c % 4 == 0).
@group(0) @binding(9) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(11) var<storage, read> weight4: array<vec4<f32>>;
@group(0) @binding(12) var<storage, read> bias4: array<vec4<f32>>;

override WG: u32 = 64u;
override LANES: u32 = 1u;
// Four columns per step with vec4 loads (c % 4 == 0): on SwiftShader every storage load is
// a per-lane gather, so this reads a row with a quarter of the loads. Outputs are written
// as four scalars (a vec4 alias of an output would be a second writable binding).
override VEC4: bool = false;

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

// Σ(x − k) and Σ(x − k)² over the lane's columns of a row starting at `base`.
fn shifted_sums(base: u32, lane: u32, k: f32) -> vec2<f32> {
  var acc = vec2<f32>(0.0);
  if (VEC4) {
    var a = vec4<f32>(0.0);
    var q = vec4<f32>(0.0);
    for (var j = lane; j < params.c / 4u; j += LANES) {
      let d = x4[base / 4u + j] - k;
      a += d;
      q += d * d;
    }
    acc = vec2<f32>(dot(a, vec4<f32>(1.0)), dot(q, vec4<f32>(1.0)));
  } else {
    for (var j = lane; j < params.c; j += LANES) {
      let d = x[base + j] - k;
      acc += vec2<f32>(d, d * d);
    }
  }
  return acc;
}

@compute @workgroup_size(WG)
fn forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let l = lane_of(lid, wid, nwg);
  let base = l.row * params.c;
  var acc = vec2<f32>(0.0);
  var k = 0.0;
  if (l.live) {
    k = x[base];
    acc = shifted_sums(base, l.lane, k);
  }
  let total = row_sum(lid, acc);
  if (!l.live) { return; }
  let n = f32(params.c);
  let mean = k + total.x / n;
  let s = inverseSqrt(max(total.y - total.x * total.x / n, 0.0) / n + params.eps);
  if (VEC4) {
    for (var j = l.lane; j < params.c / 4u; j += LANES) {
      let y = (x4[base / 4u + j] - mean) * s * weight4[j] + bias4[j];
      let o = base + 4u * j;
      out[o] = y.x;
      out[o + 1u] = y.y;
      out[o + 2u] = y.z;
      out[o + 3u] = y.w;
    }
  } else {
    for (var j = l.lane; j < params.c; j += LANES) {
      out[base + j] = (x[base + j] - mean) * s * weight[j] + bias[j];
    }
  }
  if (l.lane == 0u) {
    out_stats[2u * l.row] = mean;
    out_stats[2u * l.row + 1u] = s;
  }
}

// Σ g and Σ g·x̂ (g = dy·weight) over the lane's columns of a row.
fn grad_sums(base: u32, lane: u32, mean: f32, s: f32) -> vec2<f32> {
  if (VEC4) {
    var a = vec4<f32>(0.0);
    var b = vec4<f32>(0.0);
    for (var j = lane; j < params.c / 4u; j += LANES) {
      let g = dy4[base / 4u + j] * weight4[j];
      a += g;
      b += g * (x4[base / 4u + j] - mean) * s;
    }
    return vec2<f32>(dot(a, vec4<f32>(1.0)), dot(b, vec4<f32>(1.0)));
  }
  var acc = vec2<f32>(0.0);
  for (var j = lane; j < params.c; j += LANES) {
    let g = dy[base + j] * weight[j];
    acc += vec2<f32>(g, g * (x[base + j] - mean) * s);
  }
  return acc;
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
    acc = grad_sums(base, l.lane, mean, s);
  }
  let total = row_sum(lid, acc) / f32(params.c);
  if (!l.live) { return; }
  if (VEC4) {
    for (var j = l.lane; j < params.c / 4u; j += LANES) {
      let xhat = (x4[base / 4u + j] - mean) * s;
      let dx = s * (dy4[base / 4u + j] * weight4[j] - total.x - xhat * total.y);
      let o = base + 4u * j;
      out[o] = dx.x;
      out[o + 1u] = dx.y;
      out[o + 2u] = dx.z;
      out[o + 3u] = dx.w;
    }
  } else {
    for (var j = l.lane; j < params.c; j += LANES) {
      let xhat = (x[base + j] - mean) * s;
      out[base + j] = s * (dy[base + j] * weight[j] - total.x - xhat * total.y);
    }
  }
}

// One invocation per (chunk of rows, column — four columns when VEC4): partial dweight
// into out, dbias into out2, each [chunks, c] (the host sums the chunks).
@compute @workgroup_size(WG)
fn backward_params(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  let cols = select(params.c, params.c / 4u, VEC4);
  let col = t % cols;
  let chunk = t / cols;
  let row0 = chunk * params.chunk;
  if (row0 >= params.rows) { return; }
  let end = min(row0 + params.chunk, params.rows);
  if (VEC4) {
    var dw = vec4<f32>(0.0);
    var db = vec4<f32>(0.0);
    for (var r = row0; r < end; r++) {
      let o = r * cols + col;
      let g = dy4[o];
      dw += g * (x4[o] - stats[2u * r]) * stats[2u * r + 1u];
      db += g;
    }
    let o = chunk * params.c + 4u * col;
    out[o] = dw.x;
    out[o + 1u] = dw.y;
    out[o + 2u] = dw.z;
    out[o + 3u] = dw.w;
    out2[o] = db.x;
    out2[o + 1u] = db.y;
    out2[o + 2u] = db.z;
    out2[o + 3u] = db.w;
  } else {
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
}

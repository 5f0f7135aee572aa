// Batch normalization over x viewed as [rows, cols] (NHWC or [N, C]: rows = N·H·W, one
// column per channel), with a fused plain activation:
//   x̂ = (x − μ_c)·s_c,  s_c = 1/sqrt(σ²_c + eps),  z = x̂·w_c + b_c,  y = act(z).
// Training uses the batch's μ and biased σ²; eval binds the running statistics in their place.
//
// Passes (src/ops/batch-norm.ts):
//   forward, training: stats_partial → stats_final (+ the running-statistics update) → apply_fwd
//   forward, eval:     apply_fwd
//   backward:          grad_partial → grad_final (dweight, dbias) → apply_bwd (dx)
// The partial passes split the rows into chunks, one thread per (chunk, column block), and
// write [chunks, 2, cols] partial sums; the final passes, one thread per column, add the
// chunks. With one thread per column, a layer with 64 channels would run 64 threads.
//
// Backward, with g = dy·act'(z), mean over the rows ⟨·⟩:
//   dweight = Σ g·x̂,  dbias = Σ g,
//   dx = w·s·(g − ⟨g⟩ − x̂·⟨g·x̂⟩)   (training: through μ and σ²)
//   dx = w·s·g                      (eval: the statistics are constants)
//
// A thread of any pass but the finals owns a block of rows of one column block: 4
// neighbouring channels (VEC, when cols % 4 == 0) or one; neighbouring threads own
// neighbouring column blocks of the same rows, so their loads are neighbouring addresses,
// and the per-channel values are loaded once per block instead of once per element.

struct Params {
  rows: u32,
  cols: u32,
  chunk: u32,       // rows per thread (partial and apply passes)
  chunks: u32,      // ceil(rows / chunk) of the partial pass (what the final passes add)
  eps: f32,
  momentum: f32,    // running ← (1 − momentum)·running + momentum·batch
  unbias: f32,      // rows / (rows − 1): the running variance takes the unbiased estimate
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> mean: array<f32>;    // [cols]: batch or running mean
@group(0) @binding(6) var<storage, read> variance: array<f32>; // [cols]: batch (biased) or running variance
@group(0) @binding(7) var<storage, read> part: array<f32>;    // [chunks, 2, cols] partial sums
@group(0) @binding(8) var<storage, read> coef: array<f32>;    // [6, cols]: μ, s, w, b, ⟨g⟩, ⟨g·x̂⟩
@group(0) @binding(9) var<storage, read_write> out: array<f32>;
@group(0) @binding(10) var<storage, read_write> out2: array<f32>;
@group(0) @binding(11) var<storage, read_write> out3: array<f32>;
@group(0) @binding(12) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(13) var<storage, read_write> running_var: array<f32>;

override WG: u32 = 256u;
// ACT_IDENTITY, ACT_RELU, ACT_SILU: constants the runtime writes above this file from
// ACT_CODES in src/ops/batch-norm.ts, their only definition.
override ACT: u32 = 0u;
// Four neighbouring channels per thread (cols % 4 == 0); otherwise one, in lane x.
override VEC: bool = false;
// Backward: whether dx goes through the batch statistics (training) or not (eval).
override TRAIN: bool = false;

// Stable in both tails: only exponentiates non-positive numbers.
fn sigmoid4(z: vec4<f32>) -> vec4<f32> {
  let e = exp(-abs(z));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), z >= vec4<f32>(0.0));
}

fn act(z: vec4<f32>) -> vec4<f32> {
  switch ACT {
    case ACT_RELU: { return max(z, vec4<f32>(0.0)); }
    case ACT_SILU: { return z * sigmoid4(z); }
    case ACT_IDENTITY, default: { return z; }
  }
}

// act'(z); relu'(0) = 0, the convention of the relu op.
fn act_grad(z: vec4<f32>) -> vec4<f32> {
  switch ACT {
    case ACT_RELU: { return select(vec4<f32>(0.0), vec4<f32>(1.0), z > vec4<f32>(0.0)); }
    case ACT_SILU: {
      let s = sigmoid4(z);
      return s * (1.0 + z * (1.0 - s));
    }
    case ACT_IDENTITY, default: { return vec4<f32>(1.0); }
  }
}

// The column block (first column, 4 or 1 of them) and the rows [row0, end) of thread t,
// for blocks of `params.chunk` rows; row0 >= rows when the thread has nothing to do.
struct Block { c: u32, row0: u32, end: u32 }

fn lanes() -> u32 { return select(1u, 4u, VEC); }

fn block_of(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> Block {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  let blocks = params.cols / lanes();
  let row0 = (t / blocks) * params.chunk;
  return Block((t % blocks) * lanes(), row0, min(row0 + params.chunk, params.rows));
}

fn thread_id(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return flat_workgroup(wid, nwg) * WG + lid;
}

// Per-buffer loads of a column block (a splat of one value when !VEC, so lanes y…w repeat x).
fn x4(i: u32) -> vec4<f32> {
  if (VEC) { return vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]); }
  return vec4<f32>(x[i]);
}
fn dy4(i: u32) -> vec4<f32> {
  if (VEC) { return vec4<f32>(dy[i], dy[i + 1u], dy[i + 2u], dy[i + 3u]); }
  return vec4<f32>(dy[i]);
}
fn weight4(c: u32) -> vec4<f32> {
  if (VEC) { return vec4<f32>(weight[c], weight[c + 1u], weight[c + 2u], weight[c + 3u]); }
  return vec4<f32>(weight[c]);
}
fn bias4(c: u32) -> vec4<f32> {
  if (VEC) { return vec4<f32>(bias[c], bias[c + 1u], bias[c + 2u], bias[c + 3u]); }
  return vec4<f32>(bias[c]);
}
fn mean4(c: u32) -> vec4<f32> {
  if (VEC) { return vec4<f32>(mean[c], mean[c + 1u], mean[c + 2u], mean[c + 3u]); }
  return vec4<f32>(mean[c]);
}
fn variance4(c: u32) -> vec4<f32> {
  if (VEC) { return vec4<f32>(variance[c], variance[c + 1u], variance[c + 2u], variance[c + 3u]); }
  return vec4<f32>(variance[c]);
}
// Row k of coef at column block c.
fn coef4(k: u32, c: u32) -> vec4<f32> {
  let i = k * params.cols + c;
  if (VEC) { return vec4<f32>(coef[i], coef[i + 1u], coef[i + 2u], coef[i + 3u]); }
  return vec4<f32>(coef[i]);
}
fn store_out(i: u32, v: vec4<f32>) {
  out[i] = v.x;
  if (VEC) { out[i + 1u] = v.y; out[i + 2u] = v.z; out[i + 3u] = v.w; }
}

// Partial sums of one chunk: [Σ(x − k), Σ(x − k)²] with k = x[0, c], the column's first
// value. The shift keeps a large common offset from cancelling the variance (a separate
// mean pass would cost one more walk over x); the final pass undoes it.
@compute @workgroup_size(WG)
fn stats_partial(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = block_of(lid, wid, nwg);
  if (b.row0 >= params.rows) { return; }
  let k = x4(b.c);
  var a = vec4<f32>(0.0);
  var q = vec4<f32>(0.0);
  for (var i = b.row0; i < b.end; i++) {
    let d = x4(i * params.cols + b.c) - k;
    a += d;
    q += d * d;
  }
  let o = (b.row0 / params.chunk) * 2u * params.cols + b.c;
  out[o] = a.x;
  out[o + params.cols] = q.x;
  if (VEC) {
    out[o + 1u] = a.y; out[o + 2u] = a.z; out[o + 3u] = a.w;
    out[o + params.cols + 1u] = q.y; out[o + params.cols + 2u] = q.z; out[o + params.cols + 3u] = q.w;
  }
}

// One thread per column: the batch mean (out) and biased variance (out2), and the running
// statistics updated in place, the variance with the unbiased estimate (PyTorch's convention).
@compute @workgroup_size(WG)
fn stats_final(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = thread_id(lid, wid, nwg);
  if (c >= params.cols) { return; }
  var a = 0.0;
  var q = 0.0;
  for (var j = 0u; j < params.chunks; j++) {
    a += part[j * 2u * params.cols + c];
    q += part[(j * 2u + 1u) * params.cols + c];
  }
  let n = f32(params.rows);
  let shift = a / n;
  let mu = x[c] + shift;
  // Rounding can leave a tiny negative; a NaN (from a NaN in x) must stay NaN (max may drop it).
  let v = q / n - shift * shift;
  let var_b = select(v, 0.0, v < 0.0);
  out[c] = mu;
  out2[c] = var_b;
  let m = params.momentum;
  running_mean[c] = (1.0 - m) * running_mean[c] + m * mu;
  running_var[c] = (1.0 - m) * running_var[c] + m * var_b * params.unbias;
}

// y = act((x − μ)·s·w + b), s = 1/sqrt(σ² + eps).
@compute @workgroup_size(WG)
fn apply_fwd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = block_of(lid, wid, nwg);
  if (b.row0 >= params.rows) { return; }
  let mu = mean4(b.c);
  let sw = inverseSqrt(variance4(b.c) + params.eps) * weight4(b.c);
  let beta = bias4(b.c);
  for (var i = b.row0; i < b.end; i++) {
    let o = i * params.cols + b.c;
    store_out(o, act((x4(o) - mu) * sw + beta));
  }
}

// Partial sums of one chunk: [Σ g, Σ g·x̂], g = dy·act'(z).
@compute @workgroup_size(WG)
fn grad_partial(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = block_of(lid, wid, nwg);
  if (b.row0 >= params.rows) { return; }
  let mu = mean4(b.c);
  let s = inverseSqrt(variance4(b.c) + params.eps);
  let w = weight4(b.c);
  let beta = bias4(b.c);
  var sg = vec4<f32>(0.0);
  var sgx = vec4<f32>(0.0);
  for (var i = b.row0; i < b.end; i++) {
    let o = i * params.cols + b.c;
    let xh = (x4(o) - mu) * s;
    let g = dy4(o) * act_grad(xh * w + beta);
    sg += g;
    sgx += g * xh;
  }
  let o = (b.row0 / params.chunk) * 2u * params.cols + b.c;
  out[o] = sg.x;
  out[o + params.cols] = sgx.x;
  if (VEC) {
    out[o + 1u] = sg.y; out[o + 2u] = sg.z; out[o + 3u] = sg.w;
    out[o + params.cols + 1u] = sgx.y; out[o + params.cols + 2u] = sgx.z; out[o + params.cols + 3u] = sgx.w;
  }
}

// One thread per column: dweight (out), dbias (out2), and what apply_bwd needs per channel
// (out3, [6, cols]: μ, s, w, b, ⟨g⟩, ⟨g·x̂⟩; the two means are 0 in eval).
@compute @workgroup_size(WG)
fn grad_final(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = thread_id(lid, wid, nwg);
  if (c >= params.cols) { return; }
  var sg = 0.0;
  var sgx = 0.0;
  for (var j = 0u; j < params.chunks; j++) {
    sg += part[j * 2u * params.cols + c];
    sgx += part[(j * 2u + 1u) * params.cols + c];
  }
  out[c] = sgx;
  out2[c] = sg;
  let n = f32(params.rows);
  let cols = params.cols;
  out3[c] = mean[c];
  out3[cols + c] = inverseSqrt(variance[c] + params.eps);
  out3[2u * cols + c] = weight[c];
  out3[3u * cols + c] = bias[c];
  out3[4u * cols + c] = select(0.0, sg / n, TRAIN);
  out3[5u * cols + c] = select(0.0, sgx / n, TRAIN);
}

// dx = w·s·(g − ⟨g⟩ − x̂·⟨g·x̂⟩).
@compute @workgroup_size(WG)
fn apply_bwd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = block_of(lid, wid, nwg);
  if (b.row0 >= params.rows) { return; }
  let mu = coef4(0u, b.c);
  let s = coef4(1u, b.c);
  let w = coef4(2u, b.c);
  let beta = coef4(3u, b.c);
  let mg = coef4(4u, b.c);
  let mgx = coef4(5u, b.c);
  let ws = w * s;
  for (var i = b.row0; i < b.end; i++) {
    let o = i * params.cols + b.c;
    let xh = (x4(o) - mu) * s;
    let g = dy4(o) * act_grad(xh * w + beta);
    store_out(o, ws * (g - mg - xh * mgx));
  }
}

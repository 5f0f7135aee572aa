// Batched GEMM: C[b] = A[b] · B[b] with A viewed through (row, col) strides, so transposed
// operands cost nothing. Each invocation owns a TM×TN register tile of C (TM = TN = 4 here,
// vec4 accumulators) and walks K with no workgroup memory and no barriers — the winning
// style on software adapters (see docs/perf). Interior tiles skip bounds checks.

struct Params {
  m: u32,
  n: u32,
  k: u32,
  batch: u32,
  a_batch: u32,     // element stride between batches of A (0 = broadcast)
  a_row: u32,       // stride of A along m
  a_col: u32,       // stride of A along k
  b_batch: u32,
  b_row: u32,       // stride of B along k
  b_col: u32,       // stride of B along n
  tiles_n: u32,     // ceil(n / 4)
  alpha: f32,       // C = alpha · A·B
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

override WG: u32 = 64u;

fn load_a(base: u32, row: u32, col: u32) -> f32 {
  if (row >= params.m || col >= params.k) { return 0.0; }
  return a[base + row * params.a_row + col * params.a_col];
}

fn load_b4(base: u32, row: u32, col: u32) -> vec4<f32> {
  let o = base + row * params.b_row + col * params.b_col;
  if (col + 3u < params.n) {
    return vec4<f32>(b[o], b[o + params.b_col], b[o + 2u * params.b_col], b[o + 3u * params.b_col]);
  }
  var v = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) {
    if (col + j < params.n) { v[j] = b[o + j * params.b_col]; }
  }
  return v;
}

@compute @workgroup_size(WG)
fn matmul(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let tile = wid.x * WG + lid;
  let tiles_m = (params.m + 3u) / 4u;
  if (tile >= tiles_m * params.tiles_n) { return; }
  let batch = wid.y;
  let row0 = (tile / params.tiles_n) * 4u;
  let col0 = (tile % params.tiles_n) * 4u;
  let a_base = batch * params.a_batch;
  let b_base = batch * params.b_batch;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  let interior = row0 + 3u < params.m;
  for (var kk = 0u; kk < params.k; kk++) {
    let bv = load_b4(b_base, kk, col0);
    var av: vec4<f32>;
    if (interior) {
      let o = a_base + row0 * params.a_row + kk * params.a_col;
      av = vec4<f32>(a[o], a[o + params.a_row], a[o + 2u * params.a_row], a[o + 3u * params.a_row]);
    } else {
      av = vec4<f32>(load_a(a_base, row0, kk), load_a(a_base, row0 + 1u, kk), load_a(a_base, row0 + 2u, kk), load_a(a_base, row0 + 3u, kk));
    }
    acc0 += av.x * bv;
    acc1 += av.y * bv;
    acc2 += av.z * bv;
    acc3 += av.w * bv;
  }
  let c_base = batch * params.m * params.n;
  store_row(c_base, row0, col0, acc0 * params.alpha);
  store_row(c_base, row0 + 1u, col0, acc1 * params.alpha);
  store_row(c_base, row0 + 2u, col0, acc2 * params.alpha);
  store_row(c_base, row0 + 3u, col0, acc3 * params.alpha);
}

fn store_row(base: u32, row: u32, col: u32, v: vec4<f32>) {
  if (row >= params.m) { return; }
  let o = base + row * params.n + col;
  for (var j = 0u; j < 4u; j++) {
    if (col + j < params.n) { c[o + j] = v[j]; }
  }
}

// Batched GEMM with workgroup-shared tiles, for hardware GPUs: C[b] = alpha · op(A)[b] · op(B)[b],
// C contiguous [batch, M, N]; operands read through (batch, row, col) element strides as in
// shaders/matmul.wgsl (free transposes, batch stride 0 broadcasts).
//
// The style real GPUs reward and SwiftShader does not (docs/kernels-gemm.md): a workgroup of
// WG_N × WG_M invocations owns a BM × BN block of C (BM = WG_M·TM, BN = WG_N·TN). Per step of
// BK along k, the workgroup copies the A block [BM, BK] and the B block [BK, BN] into
// workgroup memory, each invocation loading (BM·BK + BK·BN) / (WG_M·WG_N) elements, then
// every invocation reads its TM rows and TN columns from there: each global element is
// loaded once per workgroup instead of once per invocation that needs it (WG_N resp. WG_M
// times), which is what a GPU's memory bandwidth needs. A is stored k-major in workgroup
// memory (as[k][m]) so an invocation's TM values for one k are contiguous.
//
// Edges: loads past M, N or K read 0, so partial blocks and K tails need no separate loop;
// stores are masked. Workgroup x covers column blocks, y row blocks, z the batch (the host
// splits a batch over the per-dimension limit into several dispatches' worth of z).

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
  alpha: f32,       // C = alpha · A·B
  batch_offset: u32, // first batch of this dispatch (batches past the z limit)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

override WG_M: u32 = 16u;  // invocations along m
override WG_N: u32 = 16u;  // invocations along n
override TM: u32 = 4u;     // rows of C per invocation (≤ 4)
override TN: u32 = 4u;     // columns of C per invocation (≤ 4)
const BK: u32 = 16u;       // k per shared step
const MAX_BM: u32 = 64u;   // WG_M·TM ≤ 64
const MAX_BN: u32 = 64u;   // WG_N·TN ≤ 64

var<workgroup> as_: array<f32, 1024>;  // [BK][MAX_BM], k-major
var<workgroup> bs_: array<f32, 1024>;  // [BK][MAX_BN]

fn load_a(base: u32, row: u32, kk: u32) -> f32 {
  if (row >= params.m || kk >= params.k) { return 0.0; }
  return a[base + row * params.a_row + kk * params.a_col];
}

fn load_b(base: u32, kk: u32, col: u32) -> f32 {
  if (kk >= params.k || col >= params.n) { return 0.0; }
  return b[base + kk * params.b_row + col * params.b_col];
}

@compute @workgroup_size(WG_N, WG_M)
fn matmul_shared(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let batch = wid.z + params.batch_offset;
  // Every invocation takes part in every barrier, so none returns early; out-of-range
  // batches and blocks only skip their stores.
  let live_batch = batch < params.batch;
  let bm = WG_M * TM;
  let bn = WG_N * TN;
  let row0 = wid.y * bm;
  let col0 = wid.x * bn;
  let a_base = select(0u, batch * params.a_batch, live_batch);
  let b_base = select(0u, batch * params.b_batch, live_batch);
  let lanes = WG_M * WG_N;

  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < params.k; k0 += BK) {
    // Cooperative copy of the A block (bm × BK) and the B block (BK × bn).
    for (var e = li; e < bm * BK; e += lanes) {
      let kk = e / bm;
      let r = e % bm;
      as_[kk * MAX_BM + r] = load_a(a_base, row0 + r, k0 + kk);
    }
    for (var e = li; e < BK * bn; e += lanes) {
      let kk = e / bn;
      let cc = e % bn;
      bs_[kk * MAX_BN + cc] = load_b(b_base, k0 + kk, col0 + cc);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var i = 0u; i < TM; i++) { av[i] = as_[kk * MAX_BM + lid.y * TM + i]; }
      for (var j = 0u; j < TN; j++) { bv[j] = bs_[kk * MAX_BN + lid.x * TN + j]; }
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) { acc[i][j] = fma(av[i], bv[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  if (!live_batch) { return; }
  let out_base = batch * params.m * params.n;
  for (var i = 0u; i < TM; i++) {
    let row = row0 + lid.y * TM + i;
    if (row >= params.m) { continue; }
    for (var j = 0u; j < TN; j++) {
      let col = col0 + lid.x * TN + j;
      if (col < params.n) { c[out_base + row * params.n + col] = params.alpha * acc[i][j]; }
    }
  }
}

enable subgroups;
// The shuffles below run under branches and loop bounds that are uniform across each
// subgroup (whole workgroups leave together; chunk widths come from subgroupAdd), which
// the analysis cannot see: it only knows workgroup-wide uniformity.
diagnostic(off, subgroup_uniformity);

// Batched GEMM, subgroup variant: C[b] = alpha · op(A)[b] · op(B)[b], the same contract and
// strides as shaders/matmul.wgsl and shaders/matmul-shared.wgsl (free transposes, batch
// stride 0 broadcasts), for devices created with the `subgroups` feature.
// src/ops/matmul.ts runs it for GemmConfig.tiles = 'subgroup' (set by hand or by the
// autotuner); docs/kernels-gemm.md has the design and what is (not) measured.
//
// WHY: the shared kernel copies A and B blocks through workgroup memory and pays two
// barriers per k step; the register kernel has every invocation gather its own A and B.
// Here the A values are exchanged in registers: all WG invocations of a workgroup own the
// same TM rows of C (each TN columns of them), so they all need the same A values. Per
// chunk of k as wide as the subgroup, lane l loads A[rows, k0 + l] (one coalesced load per
// row across the subgroup) and subgroupShuffle hands lane l's values to every lane in turn.
// Per k a lane then issues TN loads of B (coalesced: neighbouring lanes read neighbouring
// columns), TM/S loads of A and 2 vec4 shuffles for TM·TN multiply-adds; no workgroup memory
// and no barrier.
//
// Correct for any subgroup size S and any grouping of invocations into subgroups, which
// WGSL does not specify: since the whole workgroup shares its rows, any lanes of one
// subgroup may share A. A chunk is as wide as the subgroup's live lanes (subgroupAdd), so
// a partial subgroup (a workgroup narrower than S) works too. Only if the live lanes'
// ids are not 0 … n−1 (never seen, but not ruled out by the spec) would a shuffle read an
// inactive lane: then the subgroup takes the plain path, each lane loading A itself.
//
//  * One invocation: TM = 8 rows × TN = 4 columns of C, columns col0 + lane + j·WG
//    (j < 4), so the B loads of neighbouring lanes are neighbouring addresses.
//  * A workgroup: 8 rows × 4·WG columns. Workgroups tile C row-major, numbered
//    x + y·(workgroups along x) (the host folds a long grid into y); z is the batch
//    (plus batch_offset for batches past the per-dimension limit).
//  * Rows/columns past M/N are clamped on load and masked on store; k past K is never used.

struct Params {
  m: u32,
  n: u32,
  k: u32,
  batch: u32,
  a_batch: u32,      // element stride between batches of A (0 = broadcast)
  a_row: u32,        // stride of A along m
  a_col: u32,        // stride of A along k
  b_batch: u32,
  b_row: u32,        // stride of B along k
  b_col: u32,        // stride of B along n
  tiles_n: u32,      // ceil(n / (4·WG)): column blocks
  alpha: f32,        // C = alpha · A·B
  batch_offset: u32, // first batch of this dispatch
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

override WG: u32 = 64u;  // invocations per workgroup, all on the same rows
const TM: u32 = 8u;      // rows of C per workgroup (and per invocation)

// The eight rows' accumulators, four columns each.
struct Acc { r0: vec4<f32>, r1: vec4<f32>, r2: vec4<f32>, r3: vec4<f32>, r4: vec4<f32>, r5: vec4<f32>, r6: vec4<f32>, r7: vec4<f32> }

// Row k of B at the lane's four columns.
fn b_row(bo: vec4<u32>, k: u32) -> vec4<f32> {
  let r = k * params.b_row;
  return vec4<f32>(b[bo.x + r], b[bo.y + r], b[bo.z + r], b[bo.w + r]);
}

// Column k of A at four of the rows (offsets `ro`: rows 0–3 or 4–7).
fn a_column(ro: vec4<u32>, k: u32) -> vec4<f32> {
  let o = k * params.a_col;
  return vec4<f32>(a[ro.x + o], a[ro.y + o], a[ro.z + o], a[ro.w + o]);
}

// acc[i] += x[i] · y for the eight rows.
fn fma_acc(t: ptr<function, Acc>, lo: vec4<f32>, hi: vec4<f32>, y: vec4<f32>) {
  (*t).r0 += lo.x * y; (*t).r1 += lo.y * y; (*t).r2 += lo.z * y; (*t).r3 += lo.w * y;
  (*t).r4 += hi.x * y; (*t).r5 += hi.y * y; (*t).r6 += hi.z * y; (*t).r7 += hi.w * y;
}

fn store_row(c_base: u32, row: u32, cols: vec4<u32>, v: vec4<f32>) {
  if (row >= params.m) { return; }
  let o = c_base + row * params.n;
  let w = v * params.alpha;
  if (cols.x < params.n) { c[o + cols.x] = w.x; }
  if (cols.y < params.n) { c[o + cols.y] = w.y; }
  if (cols.z < params.n) { c[o + cols.z] = w.z; }
  if (cols.w < params.n) { c[o + cols.w] = w.w; }
}

@compute @workgroup_size(WG)
fn matmul_subgroup(@builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32,
                   @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let tile = wid.x + wid.y * nwg.x;
  let batch = wid.z + params.batch_offset;
  let tiles_m = (params.m + TM - 1u) / TM;
  // A workgroup owns tile `tile` (8 rows × 4·WG columns). Whole workgroups leave (the shuffles need their subgroup's lanes).
  if (tile >= tiles_m * params.tiles_n || batch >= params.batch) { return; }
  let row0 = (tile / params.tiles_n) * TM;
  let col0 = (tile % params.tiles_n) * (4u * WG) + li;
  let cols = vec4<u32>(col0, col0 + WG, col0 + 2u * WG, col0 + 3u * WG);

  let m1 = params.m - 1u;
  let a_base = batch * params.a_batch;
  let ar = params.a_row;
  let ao_lo = a_base + vec4<u32>(min(row0, m1), min(row0 + 1u, m1), min(row0 + 2u, m1), min(row0 + 3u, m1)) * ar;
  let ao_hi = a_base + vec4<u32>(min(row0 + 4u, m1), min(row0 + 5u, m1), min(row0 + 6u, m1), min(row0 + 7u, m1)) * ar;
  let bo = batch * params.b_batch + min(cols, vec4<u32>(params.n - 1u)) * params.b_col;

  let z = vec4<f32>(0.0);
  var acc = Acc(z, z, z, z, z, z, z, z);
  // Active lanes of this subgroup, and whether their ids are 0 … live − 1.
  let live = subgroupAdd(1u);
  if (subgroupAll(lane < live)) {
    let k1 = params.k - 1u;
    for (var k0 = 0u; k0 < params.k; k0 += live) {
      // Lane l's share of the chunk: A[rows, k0 + l] (clamped; a k past K is never read out).
      let kl = min(k0 + lane, k1);
      let x_lo = a_column(ao_lo, kl);
      let x_hi = a_column(ao_hi, kl);
      let width = min(live, params.k - k0);
      for (var j = 0u; j < width; j++) {
        fma_acc(&acc, subgroupShuffle(x_lo, j), subgroupShuffle(x_hi, j), b_row(bo, k0 + j));
      }
    }
  } else {
    for (var k = 0u; k < params.k; k++) {
      fma_acc(&acc, a_column(ao_lo, k), a_column(ao_hi, k), b_row(bo, k));
    }
  }

  let c_base = batch * params.m * params.n;
  store_row(c_base, row0, cols, acc.r0);
  store_row(c_base, row0 + 1u, cols, acc.r1);
  store_row(c_base, row0 + 2u, cols, acc.r2);
  store_row(c_base, row0 + 3u, cols, acc.r3);
  store_row(c_base, row0 + 4u, cols, acc.r4);
  store_row(c_base, row0 + 5u, cols, acc.r5);
  store_row(c_base, row0 + 6u, cols, acc.r6);
  store_row(c_base, row0 + 7u, cols, acc.r7);
}

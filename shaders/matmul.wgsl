// Batched GEMM core: C[b] = alpha · op(A)[b] · op(B)[b], C contiguous [batch, M, N].
//
// TILING SCHEME (reuse it for implicit-GEMM kernels such as conv2d.wgsl):
//  * Operands are read through (batch, row, col) element strides, so Aᵀ/Bᵀ cost nothing
//    and a batch stride of 0 broadcasts one matrix over the batch.
//  * One invocation owns a TM×TN register tile of C (TM, TN ∈ {4, 8}; default 8×8) kept
//    in NAMED vec4 accumulators acc{row}{l|h} (l = columns 0–3, h = columns 4–7). No
//    workgroup memory, no barriers: on SwiftShader (a CPU) each invocation is one SIMD
//    lane and a vec4 is four scalar registers, so swizzles/transposes are free and shared
//    memory only adds copies and barrier cost (measured: slower, and 0.3–0.7 s compiles).
//  * K is walked in blocks of 4. Per block an invocation loads A as TM vec4s x0..x7
//    (row i, k0..k0+3) and B as 4·TN/4 vec4s y{q}{l|h} (k0+q, columns), then does
//    TM·TN·4 multiply-adds. A K remainder (K % 4) runs a scalar tail loop.
//  * Load modes (override A_MODE / B_MODE) pick how a block is fetched:
//      0  scalar loads through the strides (always valid, any shape/stride),
//      1  vec4 loads along the operand's contiguous axis when it is A's k (A row-major)
//         or B's n (B row-major),
//      2  vec4 loads along A's m (Aᵀ stored [K, M]) or B's k (Bᵀ stored [N, K]),
//         transposed in registers.
//    A vec4 mode needs 16-byte alignment: the host picks it only when the relevant
//    strides and extents are multiples of 4, and binds the same buffer twice
//    (`a` as array<f32> for the tail/edges, `av` as array<vec4<f32>>). On SwiftShader
//    every storage load is a per-lane gather, so vec4 and scalar modes measure the same
//    there; the vec4 modes are for GPUs (fewer, wider loads).
//  * Edges: tile rows/columns past M/N are CLAMPED to the last valid row/column (or vec4)
//    when loading — the loop never branches on bounds — and masked on store.
//  * Grid: workgroup x covers WG consecutive tiles (row-major over the tile grid, so
//    neighbouring lanes share A rows), or with BLOCK_N > 0 a (WG / BLOCK_N) × BLOCK_N
//    block of tiles; y·z = batch.
// A GPU variant (workgroup-shared tiles, barriers) would be another entry point selected
// by the host per adapter; see docs/kernels-gemm.md.

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
  tiles_n: u32,     // ceil(n / TN)
  alpha: f32,       // C = alpha · A·B
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read> av: array<vec4<f32>>;   // same buffer as a
@group(0) @binding(5) var<storage, read> bv: array<vec4<f32>>;   // same buffer as b

override WG: u32 = 64u;
override TM: u32 = 8u;       // rows per invocation: 4 or 8
override TN: u32 = 8u;       // columns per invocation: 4 or 8
override A_MODE: u32 = 0u;   // 0 scalar, 1 vec4 along k, 2 vec4 along m
override B_MODE: u32 = 0u;   // 0 scalar, 1 vec4 along n, 2 vec4 along k
override BLOCK_N: u32 = 0u;  // 0: row-major tile order; else tiles per workgroup row (divides WG)

fn store4(base: u32, row: u32, col: u32, v: vec4<f32>) {
  if (row >= params.m) { return; }
  let o = base + row * params.n + col;
  let w = v * params.alpha;
  if (col + 3u < params.n) {
    c[o] = w.x; c[o + 1u] = w.y; c[o + 2u] = w.z; c[o + 3u] = w.w;
  } else {
    if (col < params.n) { c[o] = w.x; }
    if (col + 1u < params.n) { c[o + 1u] = w.y; }
    if (col + 2u < params.n) { c[o + 2u] = w.z; }
  }
}

@compute @workgroup_size(WG)
fn matmul(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let batch = wid.y + wid.z * nwg.y;
  let tiles_m = (params.m + TM - 1u) / TM;
  var tile_m: u32;
  var tile_n: u32;
  if (BLOCK_N == 0u) {
    // Row-major over the tile grid: a workgroup is WG consecutive tiles of one row band.
    let tile = wid.x * WG + lid;
    tile_m = tile / params.tiles_n;
    tile_n = tile % params.tiles_n;
  } else {
    // Blocked: a workgroup is a (WG / BLOCK_N) × BLOCK_N block of tiles (cache reuse of A and B).
    let bn = max(BLOCK_N, 1u); // (this branch is constant-folded even when BLOCK_N == 0)
    let groups_n = (params.tiles_n + bn - 1u) / bn;
    tile_m = (wid.x / groups_n) * (WG / bn) + lid / bn;
    tile_n = (wid.x % groups_n) * bn + lid % bn;
  }
  if (tile_m >= tiles_m || tile_n >= params.tiles_n || batch >= params.batch) { return; }
  let row0 = tile_m * TM;
  let col0 = tile_n * TN;
  let m1 = params.m - 1u;
  let n1 = params.n - 1u;
  let a_base = batch * params.a_batch;
  let b_base = batch * params.b_batch;
  let ar = params.a_row;
  let ak = params.a_col;
  let bk = params.b_row;
  let bn = params.b_col;

  // Clamped scalar offsets of the tile's rows of A and columns of B (edge tiles re-read
  // the last valid row/column; the store masks them out).
  let ao0 = a_base + min(row0, m1) * ar;
  let ao1 = a_base + min(row0 + 1u, m1) * ar;
  let ao2 = a_base + min(row0 + 2u, m1) * ar;
  let ao3 = a_base + min(row0 + 3u, m1) * ar;
  let ao4 = a_base + min(row0 + 4u, m1) * ar;
  let ao5 = a_base + min(row0 + 5u, m1) * ar;
  let ao6 = a_base + min(row0 + 6u, m1) * ar;
  let ao7 = a_base + min(row0 + 7u, m1) * ar;
  let bo0 = b_base + min(col0, n1) * bn;
  let bo1 = b_base + min(col0 + 1u, n1) * bn;
  let bo2 = b_base + min(col0 + 2u, n1) * bn;
  let bo3 = b_base + min(col0 + 3u, n1) * bn;
  let bo4 = b_base + min(col0 + 4u, n1) * bn;
  let bo5 = b_base + min(col0 + 5u, n1) * bn;
  let bo6 = b_base + min(col0 + 6u, n1) * bn;
  let bo7 = b_base + min(col0 + 7u, n1) * bn;
  // vec4 indices for the vec4 load modes (host guarantees the alignment).
  let mv_last = params.m / 4u - 1u;               // A_MODE 2: m % 4 == 0
  let mv0 = a_base / 4u + min(row0 / 4u, mv_last);
  let mv1 = a_base / 4u + min(row0 / 4u + 1u, mv_last);
  let nv_last = params.n / 4u - 1u;               // B_MODE 1: n % 4 == 0
  let nv0 = b_base / 4u + min(col0 / 4u, nv_last);
  let nv1 = b_base / 4u + min(col0 / 4u + 1u, nv_last);
  let ak4 = ak / 4u;
  let bk4 = bk / 4u;
  // Loop-invariant vec4 row/column indices (the loop then only adds kb; SwiftShader's
  // backend does not hoist these itself).
  let av0 = ao0 / 4u; let av1 = ao1 / 4u; let av2 = ao2 / 4u; let av3 = ao3 / 4u;
  let av4 = ao4 / 4u; let av5 = ao5 / 4u; let av6 = ao6 / 4u; let av7 = ao7 / 4u;
  let bv0 = bo0 / 4u; let bv1 = bo1 / 4u; let bv2 = bo2 / 4u; let bv3 = bo3 / 4u;
  let bv4 = bo4 / 4u; let bv5 = bo5 / 4u; let bv6 = bo6 / 4u; let bv7 = bo7 / 4u;
  let ak4x2 = 2u * ak4; let ak4x3 = 3u * ak4;
  let bk4x2 = 2u * bk4; let bk4x3 = 3u * bk4;

  var acc0l = vec4<f32>(0.0); var acc0h = vec4<f32>(0.0);
  var acc1l = vec4<f32>(0.0); var acc1h = vec4<f32>(0.0);
  var acc2l = vec4<f32>(0.0); var acc2h = vec4<f32>(0.0);
  var acc3l = vec4<f32>(0.0); var acc3h = vec4<f32>(0.0);
  var acc4l = vec4<f32>(0.0); var acc4h = vec4<f32>(0.0);
  var acc5l = vec4<f32>(0.0); var acc5h = vec4<f32>(0.0);
  var acc6l = vec4<f32>(0.0); var acc6h = vec4<f32>(0.0);
  var acc7l = vec4<f32>(0.0); var acc7h = vec4<f32>(0.0);

  let kblocks = params.k / 4u;
  for (var kb = 0u; kb < kblocks; kb++) {
    let k0 = kb * 4u;
    // ---- A block: x{i} = A[row0 + i, k0 .. k0 + 3]
    var x0: vec4<f32>; var x1: vec4<f32>; var x2: vec4<f32>; var x3: vec4<f32>;
    var x4: vec4<f32>; var x5: vec4<f32>; var x6: vec4<f32>; var x7: vec4<f32>;
    if (A_MODE == 1u) {
      x0 = av[av0 + kb]; x1 = av[av1 + kb]; x2 = av[av2 + kb]; x3 = av[av3 + kb];
      if (TM == 8u) { x4 = av[av4 + kb]; x5 = av[av5 + kb]; x6 = av[av6 + kb]; x7 = av[av7 + kb]; }
    } else if (A_MODE == 2u) {
      let o = k0 * ak4;
      let p0 = av[mv0 + o]; let p1 = av[mv0 + o + ak4]; let p2 = av[mv0 + o + ak4x2]; let p3 = av[mv0 + o + ak4x3];
      x0 = vec4<f32>(p0.x, p1.x, p2.x, p3.x); x1 = vec4<f32>(p0.y, p1.y, p2.y, p3.y);
      x2 = vec4<f32>(p0.z, p1.z, p2.z, p3.z); x3 = vec4<f32>(p0.w, p1.w, p2.w, p3.w);
      if (TM == 8u) {
        let q0 = av[mv1 + o]; let q1 = av[mv1 + o + ak4]; let q2 = av[mv1 + o + ak4x2]; let q3 = av[mv1 + o + ak4x3];
        x4 = vec4<f32>(q0.x, q1.x, q2.x, q3.x); x5 = vec4<f32>(q0.y, q1.y, q2.y, q3.y);
        x6 = vec4<f32>(q0.z, q1.z, q2.z, q3.z); x7 = vec4<f32>(q0.w, q1.w, q2.w, q3.w);
      }
    } else {
      let o0 = k0 * ak; let o1 = o0 + ak; let o2 = o1 + ak; let o3 = o2 + ak;
      x0 = vec4<f32>(a[ao0 + o0], a[ao0 + o1], a[ao0 + o2], a[ao0 + o3]);
      x1 = vec4<f32>(a[ao1 + o0], a[ao1 + o1], a[ao1 + o2], a[ao1 + o3]);
      x2 = vec4<f32>(a[ao2 + o0], a[ao2 + o1], a[ao2 + o2], a[ao2 + o3]);
      x3 = vec4<f32>(a[ao3 + o0], a[ao3 + o1], a[ao3 + o2], a[ao3 + o3]);
      if (TM == 8u) {
        x4 = vec4<f32>(a[ao4 + o0], a[ao4 + o1], a[ao4 + o2], a[ao4 + o3]);
        x5 = vec4<f32>(a[ao5 + o0], a[ao5 + o1], a[ao5 + o2], a[ao5 + o3]);
        x6 = vec4<f32>(a[ao6 + o0], a[ao6 + o1], a[ao6 + o2], a[ao6 + o3]);
        x7 = vec4<f32>(a[ao7 + o0], a[ao7 + o1], a[ao7 + o2], a[ao7 + o3]);
      }
    }
    // ---- B block: y{q}{l|h} = B[k0 + q, col0 + 0..3 | 4..7]
    var y0l: vec4<f32>; var y1l: vec4<f32>; var y2l: vec4<f32>; var y3l: vec4<f32>;
    var y0h: vec4<f32>; var y1h: vec4<f32>; var y2h: vec4<f32>; var y3h: vec4<f32>;
    if (B_MODE == 1u) {
      let o = k0 * bk4;
      y0l = bv[nv0 + o]; y1l = bv[nv0 + o + bk4]; y2l = bv[nv0 + o + bk4x2]; y3l = bv[nv0 + o + bk4x3];
      if (TN == 8u) { y0h = bv[nv1 + o]; y1h = bv[nv1 + o + bk4]; y2h = bv[nv1 + o + bk4x2]; y3h = bv[nv1 + o + bk4x3]; }
    } else if (B_MODE == 2u) {
      let p0 = bv[bv0 + kb]; let p1 = bv[bv1 + kb]; let p2 = bv[bv2 + kb]; let p3 = bv[bv3 + kb];
      y0l = vec4<f32>(p0.x, p1.x, p2.x, p3.x); y1l = vec4<f32>(p0.y, p1.y, p2.y, p3.y);
      y2l = vec4<f32>(p0.z, p1.z, p2.z, p3.z); y3l = vec4<f32>(p0.w, p1.w, p2.w, p3.w);
      if (TN == 8u) {
        let q0 = bv[bv4 + kb]; let q1 = bv[bv5 + kb]; let q2 = bv[bv6 + kb]; let q3 = bv[bv7 + kb];
        y0h = vec4<f32>(q0.x, q1.x, q2.x, q3.x); y1h = vec4<f32>(q0.y, q1.y, q2.y, q3.y);
        y2h = vec4<f32>(q0.z, q1.z, q2.z, q3.z); y3h = vec4<f32>(q0.w, q1.w, q2.w, q3.w);
      }
    } else {
      let r0 = k0 * bk; let r1 = r0 + bk; let r2 = r1 + bk; let r3 = r2 + bk;
      y0l = vec4<f32>(b[r0 + bo0], b[r0 + bo1], b[r0 + bo2], b[r0 + bo3]);
      y1l = vec4<f32>(b[r1 + bo0], b[r1 + bo1], b[r1 + bo2], b[r1 + bo3]);
      y2l = vec4<f32>(b[r2 + bo0], b[r2 + bo1], b[r2 + bo2], b[r2 + bo3]);
      y3l = vec4<f32>(b[r3 + bo0], b[r3 + bo1], b[r3 + bo2], b[r3 + bo3]);
      if (TN == 8u) {
        y0h = vec4<f32>(b[r0 + bo4], b[r0 + bo5], b[r0 + bo6], b[r0 + bo7]);
        y1h = vec4<f32>(b[r1 + bo4], b[r1 + bo5], b[r1 + bo6], b[r1 + bo7]);
        y2h = vec4<f32>(b[r2 + bo4], b[r2 + bo5], b[r2 + bo6], b[r2 + bo7]);
        y3h = vec4<f32>(b[r3 + bo4], b[r3 + bo5], b[r3 + bo6], b[r3 + bo7]);
      }
    }
    // ---- TM·TN·4 multiply-adds
    acc0l += x0.x * y0l; acc0l += x0.y * y1l; acc0l += x0.z * y2l; acc0l += x0.w * y3l;
    if (TN == 8u) { acc0h += x0.x * y0h; acc0h += x0.y * y1h; acc0h += x0.z * y2h; acc0h += x0.w * y3h; }
    acc1l += x1.x * y0l; acc1l += x1.y * y1l; acc1l += x1.z * y2l; acc1l += x1.w * y3l;
    if (TN == 8u) { acc1h += x1.x * y0h; acc1h += x1.y * y1h; acc1h += x1.z * y2h; acc1h += x1.w * y3h; }
    acc2l += x2.x * y0l; acc2l += x2.y * y1l; acc2l += x2.z * y2l; acc2l += x2.w * y3l;
    if (TN == 8u) { acc2h += x2.x * y0h; acc2h += x2.y * y1h; acc2h += x2.z * y2h; acc2h += x2.w * y3h; }
    acc3l += x3.x * y0l; acc3l += x3.y * y1l; acc3l += x3.z * y2l; acc3l += x3.w * y3l;
    if (TN == 8u) { acc3h += x3.x * y0h; acc3h += x3.y * y1h; acc3h += x3.z * y2h; acc3h += x3.w * y3h; }
    if (TM == 8u) { acc4l += x4.x * y0l; acc4l += x4.y * y1l; acc4l += x4.z * y2l; acc4l += x4.w * y3l;
      if (TN == 8u) { acc4h += x4.x * y0h; acc4h += x4.y * y1h; acc4h += x4.z * y2h; acc4h += x4.w * y3h; } }
    if (TM == 8u) { acc5l += x5.x * y0l; acc5l += x5.y * y1l; acc5l += x5.z * y2l; acc5l += x5.w * y3l;
      if (TN == 8u) { acc5h += x5.x * y0h; acc5h += x5.y * y1h; acc5h += x5.z * y2h; acc5h += x5.w * y3h; } }
    if (TM == 8u) { acc6l += x6.x * y0l; acc6l += x6.y * y1l; acc6l += x6.z * y2l; acc6l += x6.w * y3l;
      if (TN == 8u) { acc6h += x6.x * y0h; acc6h += x6.y * y1h; acc6h += x6.z * y2h; acc6h += x6.w * y3h; } }
    if (TM == 8u) { acc7l += x7.x * y0l; acc7l += x7.y * y1l; acc7l += x7.z * y2l; acc7l += x7.w * y3l;
      if (TN == 8u) { acc7h += x7.x * y0h; acc7h += x7.y * y1h; acc7h += x7.z * y2h; acc7h += x7.w * y3h; } }
  }

  // K remainder (k % 4): one k at a time with scalar loads, valid for every mode.
  for (var kk = kblocks * 4u; kk < params.k; kk++) {
    let o = kk * ak;
    let r = kk * bk;
    let s0 = a[ao0 + o]; let s1 = a[ao1 + o]; let s2 = a[ao2 + o]; let s3 = a[ao3 + o];
    var s4 = 0.0; var s5 = 0.0; var s6 = 0.0; var s7 = 0.0;
    if (TM == 8u) { s4 = a[ao4 + o]; s5 = a[ao5 + o]; s6 = a[ao6 + o]; s7 = a[ao7 + o]; }
    let yl = vec4<f32>(b[r + bo0], b[r + bo1], b[r + bo2], b[r + bo3]);
    var yh = vec4<f32>(0.0);
    if (TN == 8u) { yh = vec4<f32>(b[r + bo4], b[r + bo5], b[r + bo6], b[r + bo7]); }
    acc0l += s0 * yl; if (TN == 8u) { acc0h += s0 * yh; }
    acc1l += s1 * yl; if (TN == 8u) { acc1h += s1 * yh; }
    acc2l += s2 * yl; if (TN == 8u) { acc2h += s2 * yh; }
    acc3l += s3 * yl; if (TN == 8u) { acc3h += s3 * yh; }
    if (TM == 8u) { acc4l += s4 * yl; if (TN == 8u) { acc4h += s4 * yh; } }
    if (TM == 8u) { acc5l += s5 * yl; if (TN == 8u) { acc5h += s5 * yh; } }
    if (TM == 8u) { acc6l += s6 * yl; if (TN == 8u) { acc6h += s6 * yh; } }
    if (TM == 8u) { acc7l += s7 * yl; if (TN == 8u) { acc7h += s7 * yh; } }
  }

  let c_base = batch * params.m * params.n;
  let col1 = col0 + 4u;
  // One loop over the tile's rows, not 2·TM inlined stores: the stores' column masks were
  // half of this pipeline's build time (docs/kernels.md).
  for (var j = 0u; j < TM; j++) {
    var lo = acc7l;
    var hi = acc7h;
    switch j {
      case 0u: { lo = acc0l; hi = acc0h; }
      case 1u: { lo = acc1l; hi = acc1h; }
      case 2u: { lo = acc2l; hi = acc2h; }
      case 3u: { lo = acc3l; hi = acc3h; }
      case 4u: { lo = acc4l; hi = acc4h; }
      case 5u: { lo = acc5l; hi = acc5h; }
      case 6u: { lo = acc6l; hi = acc6h; }
      default: {}
    }
    store4(c_base, row0 + j, col0, lo);
    if (TN == 8u) { store4(c_base, row0 + j, col1, hi); }
  }
}

// A one-row product (M = 1 after the transposes: batch-1 SE and classifier layers, their
// dX): C[b, 0, n..n+3] = alpha · Σ_k A[b, 0, k] · B[b, k, n..n+3], one invocation per four
// columns of one batch, grid y·z = batch. The 8×8 tile would leave 7 of its 8 rows idle and
// spread N = 768 over 96 invocations; here the same product gets 192, and the loop does
// one A and four B loads per four multiply-adds. K runs in blocks of 4, then a tail.
@compute @workgroup_size(WG)
fn gemv(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let batch = wid.y + wid.z * nwg.y;
  let col0 = (wid.x * WG + lid) * 4u;
  if (col0 >= params.n || batch >= params.batch) { return; }
  let a_base = batch * params.a_batch;
  let n1 = params.n - 1u;
  let b_base = batch * params.b_batch;
  let bc = params.b_col;
  let o0 = b_base + col0 * bc;
  let o1 = b_base + min(col0 + 1u, n1) * bc;
  let o2 = b_base + min(col0 + 2u, n1) * bc;
  let o3 = b_base + min(col0 + 3u, n1) * bc;
  let ac = params.a_col;
  let br = params.b_row;
  var acc = vec4<f32>(0.0);
  let k4 = params.k & ~3u;
  for (var k = 0u; k < k4; k += 4u) {
    let x = vec4<f32>(a[a_base + k * ac], a[a_base + (k + 1u) * ac], a[a_base + (k + 2u) * ac], a[a_base + (k + 3u) * ac]);
    let r0 = k * br;
    let r1 = r0 + br;
    let r2 = r1 + br;
    let r3 = r2 + br;
    acc += x.x * vec4<f32>(b[o0 + r0], b[o1 + r0], b[o2 + r0], b[o3 + r0]);
    acc += x.y * vec4<f32>(b[o0 + r1], b[o1 + r1], b[o2 + r1], b[o3 + r1]);
    acc += x.z * vec4<f32>(b[o0 + r2], b[o1 + r2], b[o2 + r2], b[o3 + r2]);
    acc += x.w * vec4<f32>(b[o0 + r3], b[o1 + r3], b[o2 + r3], b[o3 + r3]);
  }
  for (var k = k4; k < params.k; k++) {
    let r = k * br;
    acc += a[a_base + k * ac] * vec4<f32>(b[o0 + r], b[o1 + r], b[o2 + r], b[o3 + r]);
  }
  store4(batch * params.n, 0u, col0, acc);
}

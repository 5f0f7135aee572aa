enable subgroups;
// Whole quads leave early (below); the lanes of a quad always agree, which is what
// quadBroadcast needs, but the analysis only knows workgroup-wide uniformity.
diagnostic(off, subgroup_uniformity);

// Batched GEMM, quad-shared variant: C[b] = alpha · op(A)[b] · op(B)[b], the same contract,
// Params and strides as shaders/matmul.wgsl (the register-tiled core), for adapters with
// the `subgroups` feature. src/ops/matmul.ts picks it on SwiftShader for wide enough C.
//
// WHY: on SwiftShader a subgroup is one 4-wide SIMD group and every storage load is a
// per-lane gather, which cost the core ~70% of its time (16 gathers per 64 multiply-adds
// of an 8×8 tile). Here the four lanes of a quad own four tiles stacked along m that share
// one 32-column band of B: each lane loads 8 of the band's 32 values per k and
// quadBroadcast hands all 32 to every lane (an extract and a splat, no memory). Per k a lane
// then does TM gathers of A and 8 of B for TM·32 multiply-adds: 16 per 256 at TM = 8,
// a quarter of the core's ratio. Measured 1.6–1.8× the core's GFLOP/s on 1024³ and on
// [8192 × 128]·[128 × 128] (docs/kernels-gemm.md).
//
//  * One invocation: TM rows × 32 columns of C (TM ∈ 1…9), accumulated as TM `Row`s of
//    eight vec4s. A quad covers 4·TM rows × 32 columns; quads are row-major over
//    (m quads, n bands) within a batch.
//  * `matmul16`, the same with 16-column bands (`Half`s of four vec4s, four columns of B
//    loaded per lane), is for C 16 wide (nano's 16-channel layers, Winograd's 16-channel
//    tile products), where a 32-column band would idle half its multiply-adds.
//  * Loads are scalar, through the element strides, so every transpose and any alignment
//    takes the same path. Rows/columns past M/N are clamped on load, masked on store.
//  * C is seen as vec4s: with N a multiple of 4 every row starts on a vec4 and a lane
//    stores its band as whole vec4s (a quarter of the stores and bounds checks of storing
//    scalars: 6272×16×32, where the store is most of the work, 2.9–3.7 → 2.5–2.6 ms GPU
//    time in alternating runs; big-K products unchanged);
//    otherwise it writes the vec4s' components one by one.
//  * quadBroadcast needs the whole quad: quads past the grid leave together, lanes past M
//    inside a quad run the loop on clamped rows and skip the store. Quads must be four
//    consecutive local invocations (1-D workgroups, WG a multiple of 4), as on SwiftShader.

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
  tiles_n: u32,     // ceil(n / band): column bands (32, or 16 for matmul16)
  alpha: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<vec4<f32>>;

override WG: u32 = 64u;   // a multiple of 4
override TM: u32 = 8u;    // rows per invocation, 1…9 (the host uses 1, 3, 4, 8 and 9)

// 32 consecutive columns of one row of C (or of B).
struct Row { q0: vec4<f32>, q1: vec4<f32>, q2: vec4<f32>, q3: vec4<f32>, q4: vec4<f32>, q5: vec4<f32>, q6: vec4<f32>, q7: vec4<f32> }
// An invocation's accumulators: rows r0 … r(TM−1) (the rest unused).
struct Tile { r0: Row, r1: Row, r2: Row, r3: Row, r4: Row, r5: Row, r6: Row, r7: Row, r8: Row }
// Element offsets of the tile's (clamped) rows of A.
struct RowOffsets { o0: u32, o1: u32, o2: u32, o3: u32, o4: u32, o5: u32, o6: u32, o7: u32, o8: u32 }
// Element offsets of a lane's 8 (clamped) columns of B.
struct BandOffsets { o0: u32, o1: u32, o2: u32, o3: u32, o4: u32, o5: u32, o6: u32, o7: u32 }

fn zero_row() -> Row {
  let z = vec4<f32>(0.0);
  return Row(z, z, z, z, z, z, z, z);
}

// acc + x·y over the 32 columns.
fn fma_row(acc: Row, x: f32, y: Row) -> Row {
  return Row(acc.q0 + x * y.q0, acc.q1 + x * y.q1, acc.q2 + x * y.q2, acc.q3 + x * y.q3,
             acc.q4 + x * y.q4, acc.q5 + x * y.q5, acc.q6 + x * y.q6, acc.q7 + x * y.q7);
}

// Row k of the quad's B band: each lane loads its 8 columns (8·lane … 8·lane + 7 of the
// band), and every lane receives all 32.
fn band_row(bo: BandOffsets, k: u32) -> Row {
  let r = k * params.b_row;
  let lo = vec4<f32>(b[bo.o0 + r], b[bo.o1 + r], b[bo.o2 + r], b[bo.o3 + r]);
  let hi = vec4<f32>(b[bo.o4 + r], b[bo.o5 + r], b[bo.o6 + r], b[bo.o7 + r]);
  return Row(quadBroadcast(lo, 0u), quadBroadcast(hi, 0u), quadBroadcast(lo, 1u), quadBroadcast(hi, 1u),
             quadBroadcast(lo, 2u), quadBroadcast(hi, 2u), quadBroadcast(lo, 3u), quadBroadcast(hi, 3u));
}

// One k of the tile: C[i, :] += A[i, k] · B[k, :] (in place: copying the tile would cost
// a full pass over it).
fn step_k(t: ptr<function, Tile>, ao: RowOffsets, bo: BandOffsets, k: u32) {
  let y = band_row(bo, k);
  let o = k * params.a_col;
  // TM is an override: the tests fold away, leaving exactly TM rows.
  (*t).r0 = fma_row((*t).r0, a[ao.o0 + o], y);
  if (TM > 1u) { (*t).r1 = fma_row((*t).r1, a[ao.o1 + o], y); }
  if (TM > 2u) { (*t).r2 = fma_row((*t).r2, a[ao.o2 + o], y); }
  if (TM > 3u) { (*t).r3 = fma_row((*t).r3, a[ao.o3 + o], y); }
  if (TM > 4u) { (*t).r4 = fma_row((*t).r4, a[ao.o4 + o], y); }
  if (TM > 5u) { (*t).r5 = fma_row((*t).r5, a[ao.o5 + o], y); }
  if (TM > 6u) { (*t).r6 = fma_row((*t).r6, a[ao.o6 + o], y); }
  if (TM > 7u) { (*t).r7 = fma_row((*t).r7, a[ao.o7 + o], y); }
  if (TM > 8u) { (*t).r8 = fma_row((*t).r8, a[ao.o8 + o], y); }
}

// Columns col … col + 3 of C at element offset o (a multiple of 4 when N is).
fn store4(o: u32, col: u32, v: vec4<f32>) {
  let w = v * params.alpha;
  if ((params.n & 3u) == 0u) {
    if (col < params.n) { c[o / 4u] = w; }
    return;
  }
  for (var j = 0u; j < 4u; j++) {
    if (col + j < params.n) { c[(o + j) / 4u][(o + j) % 4u] = w[j]; }
  }
}

fn store_row(c_base: u32, row: u32, col0: u32, v: Row) {
  if (row >= params.m) { return; }
  let o = c_base + row * params.n + col0;
  store4(o, col0, v.q0); store4(o + 4u, col0 + 4u, v.q1);
  store4(o + 8u, col0 + 8u, v.q2); store4(o + 12u, col0 + 12u, v.q3);
  store4(o + 16u, col0 + 16u, v.q4); store4(o + 20u, col0 + 20u, v.q5);
  store4(o + 24u, col0 + 24u, v.q6); store4(o + 28u, col0 + 28u, v.q7);
}

// Where an invocation's quad sits: its batch, first row and column of C, the (clamped)
// offsets of its rows of A and of its lane's `band / 4` columns of B.
struct Quad { live: bool, in_grid: bool, batch: u32, row0: u32, col0: u32, ao: RowOffsets, bo: BandOffsets }

fn locate(lid: u32, wid: vec3<u32>, nwg: vec3<u32>, band: u32) -> Quad {
  let lane = lid & 3u;
  let quad = (wid.x * WG + lid) / 4u;
  let tile_n = quad % params.tiles_n;
  let tile_m = (quad / params.tiles_n) * 4u + lane;
  let batch = wid.y + wid.z * nwg.y;
  let quads_m = (params.m + 4u * TM - 1u) / (4u * TM);
  let live = quad < quads_m * params.tiles_n && batch < params.batch;
  let row0 = tile_m * TM;
  let col0 = tile_n * band;

  let m1 = params.m - 1u;
  let a_base = batch * params.a_batch;
  let ar = params.a_row;
  let ao = RowOffsets(a_base + min(row0, m1) * ar, a_base + min(row0 + 1u, m1) * ar,
                   a_base + min(row0 + 2u, m1) * ar, a_base + min(row0 + 3u, m1) * ar,
                   a_base + min(row0 + 4u, m1) * ar, a_base + min(row0 + 5u, m1) * ar,
                   a_base + min(row0 + 6u, m1) * ar, a_base + min(row0 + 7u, m1) * ar,
                   a_base + min(row0 + 8u, m1) * ar);
  let n1 = params.n - 1u;
  let b_base = batch * params.b_batch;
  let bc = params.b_col;
  let lc = col0 + (band / 4u) * lane;   // this lane's first column of the band
  let bo = BandOffsets(b_base + min(lc, n1) * bc, b_base + min(lc + 1u, n1) * bc,
                   b_base + min(lc + 2u, n1) * bc, b_base + min(lc + 3u, n1) * bc,
                   b_base + min(lc + 4u, n1) * bc, b_base + min(lc + 5u, n1) * bc,
                   b_base + min(lc + 6u, n1) * bc, b_base + min(lc + 7u, n1) * bc);
  return Quad(live, row0 < params.m, batch, row0, col0, ao, bo);
}

@compute @workgroup_size(WG)
fn matmul(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  // A quad past the grid leaves whole; a lane whose own rows are past M stays, since its
  // quad needs its share of the B band, and only skips the store.
  let q = locate(lid, wid, nwg, 32u);
  if (!q.live) { return; }
  let ao = q.ao;
  let bo = q.bo;

  let z = zero_row();
  var t = Tile(z, z, z, z, z, z, z, z, z);
  // K in blocks of 4 (unrolled: SwiftShader pays a loop iteration's overhead per block),
  // then the remainder.
  let k4 = params.k & ~3u;
  for (var k = 0u; k < k4; k += 4u) {
    step_k(&t, ao, bo, k);
    step_k(&t, ao, bo, k + 1u);
    step_k(&t, ao, bo, k + 2u);
    step_k(&t, ao, bo, k + 3u);
  }
  for (var k = k4; k < params.k; k++) {
    step_k(&t, ao, bo, k);
  }

  if (!q.in_grid) { return; }
  let c_base = q.batch * params.m * params.n;
  let row0 = q.row0;
  let col0 = q.col0;
  // A loop over the rows, not TM inlined stores: the store (with its partial-column
  // paths) was most of this pipeline's build time (TM = 8: 1.2 → 0.7 s on SwiftShader).
  if (TM == 1u) {
    store_row(c_base, row0, col0, t.r0);
    return;
  }
  for (var i = 0u; i < TM; i++) {
    store_row(c_base, row0 + i, col0, tile_row(&t, i));
  }
}

// Row i of the tile.
fn tile_row(t: ptr<function, Tile>, i: u32) -> Row {
  switch i {
    case 0u: { return (*t).r0; }
    case 1u: { return (*t).r1; }
    case 2u: { return (*t).r2; }
    case 3u: { return (*t).r3; }
    case 4u: { return (*t).r4; }
    case 5u: { return (*t).r5; }
    case 6u: { return (*t).r6; }
    case 7u: { return (*t).r7; }
    default: { return (*t).r8; }
  }
}

// ---- 16-column bands (matmul16): the same scheme at half the band width. ----

// 16 consecutive columns of one row of C (or of B).
struct Half { q0: vec4<f32>, q1: vec4<f32>, q2: vec4<f32>, q3: vec4<f32> }
struct Tile16 { r0: Half, r1: Half, r2: Half, r3: Half, r4: Half, r5: Half, r6: Half, r7: Half, r8: Half }

fn fma_half(acc: Half, x: f32, y: Half) -> Half {
  return Half(acc.q0 + x * y.q0, acc.q1 + x * y.q1, acc.q2 + x * y.q2, acc.q3 + x * y.q3);
}

// Row k of the quad's 16-column band: each lane loads its 4 columns, every lane receives all 16.
fn band16_row(bo: BandOffsets, k: u32) -> Half {
  let r = k * params.b_row;
  let v = vec4<f32>(b[bo.o0 + r], b[bo.o1 + r], b[bo.o2 + r], b[bo.o3 + r]);
  return Half(quadBroadcast(v, 0u), quadBroadcast(v, 1u), quadBroadcast(v, 2u), quadBroadcast(v, 3u));
}

fn step16_k(t: ptr<function, Tile16>, ao: RowOffsets, bo: BandOffsets, k: u32) {
  let y = band16_row(bo, k);
  let o = k * params.a_col;
  (*t).r0 = fma_half((*t).r0, a[ao.o0 + o], y);
  if (TM > 1u) { (*t).r1 = fma_half((*t).r1, a[ao.o1 + o], y); }
  if (TM > 2u) { (*t).r2 = fma_half((*t).r2, a[ao.o2 + o], y); }
  if (TM > 3u) { (*t).r3 = fma_half((*t).r3, a[ao.o3 + o], y); }
  if (TM > 4u) { (*t).r4 = fma_half((*t).r4, a[ao.o4 + o], y); }
  if (TM > 5u) { (*t).r5 = fma_half((*t).r5, a[ao.o5 + o], y); }
  if (TM > 6u) { (*t).r6 = fma_half((*t).r6, a[ao.o6 + o], y); }
  if (TM > 7u) { (*t).r7 = fma_half((*t).r7, a[ao.o7 + o], y); }
  if (TM > 8u) { (*t).r8 = fma_half((*t).r8, a[ao.o8 + o], y); }
}

fn store_half(c_base: u32, row: u32, col0: u32, v: Half) {
  if (row >= params.m) { return; }
  let o = c_base + row * params.n + col0;
  store4(o, col0, v.q0); store4(o + 4u, col0 + 4u, v.q1);
  store4(o + 8u, col0 + 8u, v.q2); store4(o + 12u, col0 + 12u, v.q3);
}

@compute @workgroup_size(WG)
fn matmul16(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = locate(lid, wid, nwg, 16u);
  if (!q.live) { return; }
  let ao = q.ao;
  let bo = q.bo;

  let z = vec4<f32>(0.0);
  let h = Half(z, z, z, z);
  var t = Tile16(h, h, h, h, h, h, h, h, h);
  let k4 = params.k & ~3u;
  for (var k = 0u; k < k4; k += 4u) {
    step16_k(&t, ao, bo, k);
    step16_k(&t, ao, bo, k + 1u);
    step16_k(&t, ao, bo, k + 2u);
    step16_k(&t, ao, bo, k + 3u);
  }
  for (var k = k4; k < params.k; k++) {
    step16_k(&t, ao, bo, k);
  }

  if (!q.in_grid) { return; }
  let c_base = q.batch * params.m * params.n;
  let row0 = q.row0;
  let col0 = q.col0;
  // A loop over the rows, as in `matmul` (build time).
  if (TM == 1u) {
    store_half(c_base, row0, col0, t.r0);
    return;
  }
  for (var i = 0u; i < TM; i++) {
    store_half(c_base, row0 + i, col0, tile16_row(&t, i));
  }
}

// Row i of the tile.
fn tile16_row(t: ptr<function, Tile16>, i: u32) -> Half {
  switch i {
    case 0u: { return (*t).r0; }
    case 1u: { return (*t).r1; }
    case 2u: { return (*t).r2; }
    case 3u: { return (*t).r3; }
    case 4u: { return (*t).r4; }
    case 5u: { return (*t).r5; }
    case 6u: { return (*t).r6; }
    case 7u: { return (*t).r7; }
    default: { return (*t).r8; }
  }
}

// 2-D convolution, NHWC activations and HWIO weights [kh, kw, cig, cout], as implicit
// GEMMs batched over groups (grid y = group; a grouped conv is never split):
//   forward:  M = n·ho·wo pixels, N = cog, K = kh·kw·cig    out = im2col(x) · W_g
//   dw_tiled: M = kh·kw·cig taps, N = cog, K = n·ho·wo      dW  = im2col(x)ᵀ · dy
//   dX is `forward` again: the host runs it on dy once per stride phase (sh·sw of them,
//   one for stride 1) with phase_weights' flipped sub-kernels, and scatter_phase
//   interleaves the phases — no kernel ever visits a stride hole.
// The im2col matrix is never built. `forward` and `dw_tiled` read a zero-padded copy of
// their input (pad_input), so their loops are the GEMM core's (shaders/matmul.wgsl): an
// 8×TN register tile in named vec4 accumulators, K in blocks of 4 channels with vec4
// loads, no masks, no workgroup memory, no barriers — the winning style on software
// adapters. `dw` is the 4×4 fallback for channel counts that are not multiples of 4; it
// masks padding taps with select (never multiplied: 0·inf = NaN) and reads clamped
// in-bounds addresses, so robustness-off mode stays safe.

struct Params {
  n: u32, h: u32, w: u32, cin: u32,
  ho: u32, wo: u32, cout: u32, groups: u32,
  cig: u32, cog: u32, kh: u32, kw: u32,
  sh: u32, sw: u32, dh: u32, dw: u32,
  pt: i32, pl: i32,
  tiles_n: u32,     // column tiles (ceil(N / tile width)) of the GEMM this entry point computes
  k_chunk: u32,     // dw: output rows (b, oh) per split (grid z)
  size: u32,        // reduce_splits: elements of one partial
  splits: u32,
  tap: vec4<i32>,   // phase_weights: first ky, ky step, first kx, kx step
  phase: vec4<u32>, // phase_weights: taps out (kh', kw'); scatter_phase: (py, px, hq, wq)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read> part: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
// vec4 views of the same buffers as x and wt (bound twice, read-only), for VEC_K loads.
@group(0) @binding(6) var<storage, read> xv: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> wv: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> dyv: array<vec4<f32>>;
// Wide views for the zero-padding copy: 4 or 16 channels per storage access (with Dawn's
// robustness on each access pays an index clamp, whatever its width: docs/kernels.md).
@group(0) @binding(9) var<storage, read_write> outv: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read> xm: array<mat4x4<f32>>;
@group(0) @binding(11) var<storage, read_write> outm: array<mat4x4<f32>>;

override WG: u32 = 64u;
// Channel counts are multiples of 4 (forward: cin/groups and cout/groups; dw: cin/groups):
// read four channels per step. A specialization constant, not a runtime branch.
override VEC_K: bool = false;
// Columns per invocation of the forward / dw_tiled register tile (4 or 8; rows are 8).
override TN: u32 = 8u;

struct Tile { row0: u32, col0: u32, ok: bool }

// Forward grid: x·z enumerate tiles (z folds x past 65535 workgroups), y = group.
fn tile_index(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return (wid.x + wid.z * nwg.x) * WG + lid;
}

// Row-major tile order within one group: neighbouring invocations share rows.
fn tile_of(lid: u32, wid: vec3<u32>, nwg: vec3<u32>, rows: u32) -> Tile {
  let t = tile_index(lid, wid, nwg);
  let tiles_m = (rows + 3u) / 4u;
  return Tile((t / params.tiles_n) * 4u, (t % params.tiles_n) * 4u, t < tiles_m * params.tiles_n);
}

fn load_x4(o: u32) -> vec4<f32> { return vec4<f32>(x[o], x[o + 1u], x[o + 2u], x[o + 3u]); }

// a.x·b0 + a.y·b1 + a.z·b2 + a.w·b3: one row's update from four reduction steps.
fn mix4(a: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>) -> vec4<f32> {
  return a.x * b0 + a.y * b1 + a.z * b2 + a.w * b3;
}

fn store4(o: u32, col0: u32, ncols: u32, v: vec4<f32>) {
  if (col0 + 3u < ncols) {
    out[o] = v.x; out[o + 1u] = v.y; out[o + 2u] = v.z; out[o + 3u] = v.w;
    return;
  }
  for (var j = 0u; j < 4u; j++) {
    if (col0 + j < ncols) { out[o + j] = v[j]; }
  }
}

// ------------------------------------------------------------------ forward

// x here is already zero-padded (pad_input), so every tap of every output pixel is in
// bounds and the loop is the GEMM core's (shaders/matmul.wgsl): an 8×TN register tile in
// named vec4 accumulators, K walked in blocks of 4 channels, vec4 loads through the
// aliases xv/wv when cin/groups and cout/groups are multiples of 4 (VEC), no masks, no
// selects and no per-tap tests. Rows past M re-read row M − 1 and columns past the
// group's edge its last column; the store drops them.

// Output row m = (b, oh, ow) as a position in the padded input: `p` is the offset of its
// top-left tap (within group g), `ow`/`oh` its output column and row.
struct RowPos { p: u32, ow: u32, oh: u32 }

fn fwd_row(m: u32, g: u32) -> RowPos {
  let ow = m % params.wo;
  let oh = (m / params.wo) % params.ho;
  let b = m / (params.wo * params.ho);
  return RowPos(((b * params.h + oh * params.sh) * params.w + ow * params.sw) * params.cin + g * params.cig, ow, oh);
}

// The next output row's position without dividing (a CPU adapter scalarises integer
// division, and eight rows of divisions cost as much as a short K loop): step one
// column, wrapping to the next row and the next image. Past the last row (`live` false)
// the position stays put, so edge tiles re-read an in-bounds row; the store drops it.
fn next_row(r: RowPos, live: bool) -> RowPos {
  if (!live) { return r; }
  let col_step = params.sw * params.cin;
  if (r.ow + 1u < params.wo) { return RowPos(r.p + col_step, r.ow + 1u, r.oh); }
  // Back to column 0, down one output row (sh input rows).
  let row_start = r.p - r.ow * col_step;
  if (r.oh + 1u < params.ho) { return RowPos(row_start + params.sh * params.w * params.cin, 0u, r.oh + 1u); }
  // Next image: from output row ho-1 of this image to row 0 of the next.
  return RowPos(row_start - r.oh * params.sh * params.w * params.cin + params.h * params.w * params.cin, 0u, 0u);
}

// Where the forward's K walk stands: row k = (ky, kx, ci) in the weights' own order, with
// `tap` the input offset of tap (ky, kx).
struct KWalk { ci: u32, kx: u32, tap: u32 }
// The walk's input offset steps: kx → kx + 1, and kx = kw → the next ky (mod 2^32).
struct KSteps { tap: u32, row: u32 }

fn k_steps() -> KSteps {
  let tap_step = params.dw * params.cin;
  return KSteps(tap_step, params.dh * params.w * params.cin - params.kw * tap_step);
}

// The next K row, `step` channels on: ci wraps to the next tap, kx to the next tap row
// (selects, not branches).
fn k_next(w: KWalk, step: u32, s: KSteps) -> KWalk {
  var ci = w.ci + step;
  let next_tap = ci == params.cig;
  ci = select(ci, 0u, next_tap);
  var kx = select(w.kx, w.kx + 1u, next_tap);
  var tap = select(w.tap, w.tap + s.tap, next_tap);
  let next_row = kx == params.kw;
  kx = select(kx, 0u, next_row);
  tap = select(tap, tap + s.row, next_row);
  return KWalk(ci, kx, tap);
}

@compute @workgroup_size(WG)
fn forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let rows = params.n * params.ho * params.wo;
  let t = tile_index(lid, wid, nwg);
  if (t >= ((rows + 7u) / 8u) * params.tiles_n) { return; }
  let row0 = (t / params.tiles_n) * 8u;
  let col0 = (t % params.tiles_n) * TN;
  let g = wid.y;
  let r0 = fwd_row(row0, g);
  let r1 = next_row(r0, row0 + 1u < rows); let r2 = next_row(r1, row0 + 2u < rows);
  let r3 = next_row(r2, row0 + 3u < rows); let r4 = next_row(r3, row0 + 4u < rows);
  let r5 = next_row(r4, row0 + 5u < rows); let r6 = next_row(r5, row0 + 6u < rows);
  let r7 = next_row(r6, row0 + 7u < rows);
  let p0 = r0.p; let p1 = r1.p; let p2 = r2.p; let p3 = r3.p;
  let p4 = r4.p; let p5 = r5.p; let p6 = r6.p; let p7 = r7.p;
  let gc = g * params.cog;
  let n1 = params.cog - 1u;
  // Scalar column offsets (clamped) and, for VEC, vec4 column indices (cog % 4 == 0).
  let cl = vec4<u32>(gc) + min(vec4<u32>(col0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(n1));
  let ch = vec4<u32>(gc) + min(vec4<u32>(col0) + vec4<u32>(4u, 5u, 6u, 7u), vec4<u32>(n1));
  let cv0 = (gc + min(col0, params.cog - 4u)) / 4u;
  let cv1 = (gc + min(col0 + 4u, params.cog - 4u)) / 4u;
  let c4 = params.cout / 4u;

  var acc0l = vec4<f32>(0.0); var acc0h = vec4<f32>(0.0);
  var acc1l = vec4<f32>(0.0); var acc1h = vec4<f32>(0.0);
  var acc2l = vec4<f32>(0.0); var acc2h = vec4<f32>(0.0);
  var acc3l = vec4<f32>(0.0); var acc3h = vec4<f32>(0.0);
  var acc4l = vec4<f32>(0.0); var acc4h = vec4<f32>(0.0);
  var acc5l = vec4<f32>(0.0); var acc5h = vec4<f32>(0.0);
  var acc6l = vec4<f32>(0.0); var acc6h = vec4<f32>(0.0);
  var acc7l = vec4<f32>(0.0); var acc7h = vec4<f32>(0.0);
  // One flat loop over the K rows (ky, kx, ci) — the weights' own row order, so row k is
  // the loop index — with the input offset of tap (ky, kx) stepped when ci wraps: on
  // SwiftShader each entry into a loop costs about a short loop's work, and nested
  // ky/kx/ci loops entered one ci loop per tap.
  let kstep = select(1u, 4u, VEC_K);
  let krows = params.kh * params.kw * params.cig;
  let steps = k_steps();
  var walk = KWalk(0u, 0u, 0u);
  for (var k = 0u; k < krows; k += kstep) {
    let ci = walk.ci;
    let tap = walk.tap;
    if (VEC_K) {
      let o = (tap + ci) / 4u;
      let x0 = xv[p0 / 4u + o]; let x1 = xv[p1 / 4u + o]; let x2 = xv[p2 / 4u + o]; let x3 = xv[p3 / 4u + o];
      let x4 = xv[p4 / 4u + o]; let x5 = xv[p5 / 4u + o]; let x6 = xv[p6 / 4u + o]; let x7 = xv[p7 / 4u + o];
      let r = k * c4;
      let y0l = wv[r + cv0]; let y1l = wv[r + c4 + cv0]; let y2l = wv[r + 2u * c4 + cv0]; let y3l = wv[r + 3u * c4 + cv0];
      acc0l += mix4(x0, y0l, y1l, y2l, y3l); acc1l += mix4(x1, y0l, y1l, y2l, y3l);
      acc2l += mix4(x2, y0l, y1l, y2l, y3l); acc3l += mix4(x3, y0l, y1l, y2l, y3l);
      acc4l += mix4(x4, y0l, y1l, y2l, y3l); acc5l += mix4(x5, y0l, y1l, y2l, y3l);
      acc6l += mix4(x6, y0l, y1l, y2l, y3l); acc7l += mix4(x7, y0l, y1l, y2l, y3l);
      if (TN == 8u) {
        let y0h = wv[r + cv1]; let y1h = wv[r + c4 + cv1]; let y2h = wv[r + 2u * c4 + cv1]; let y3h = wv[r + 3u * c4 + cv1];
        acc0h += mix4(x0, y0h, y1h, y2h, y3h); acc1h += mix4(x1, y0h, y1h, y2h, y3h);
        acc2h += mix4(x2, y0h, y1h, y2h, y3h); acc3h += mix4(x3, y0h, y1h, y2h, y3h);
        acc4h += mix4(x4, y0h, y1h, y2h, y3h); acc5h += mix4(x5, y0h, y1h, y2h, y3h);
        acc6h += mix4(x6, y0h, y1h, y2h, y3h); acc7h += mix4(x7, y0h, y1h, y2h, y3h);
      }
    } else {
      let o = tap + ci;
      let s0 = x[p0 + o]; let s1 = x[p1 + o]; let s2 = x[p2 + o]; let s3 = x[p3 + o];
      let s4 = x[p4 + o]; let s5 = x[p5 + o]; let s6 = x[p6 + o]; let s7 = x[p7 + o];
      let r = k * params.cout;
      let yl = vec4<f32>(wt[r + cl.x], wt[r + cl.y], wt[r + cl.z], wt[r + cl.w]);
      acc0l += s0 * yl; acc1l += s1 * yl; acc2l += s2 * yl; acc3l += s3 * yl;
      acc4l += s4 * yl; acc5l += s5 * yl; acc6l += s6 * yl; acc7l += s7 * yl;
      if (TN == 8u) {
        let yh = vec4<f32>(wt[r + ch.x], wt[r + ch.y], wt[r + ch.z], wt[r + ch.w]);
        acc0h += s0 * yh; acc1h += s1 * yh; acc2h += s2 * yh; acc3h += s3 * yh;
        acc4h += s4 * yh; acc5h += s5 * yh; acc6h += s6 * yh; acc7h += s7 * yh;
      }
    }
    walk = k_next(walk, kstep, steps);
  }
  let ob = row0 * params.cout + gc + col0;
  store_tile(ob, row0, rows, col0, acc0l, acc0h, acc1l, acc1h, acc2l, acc2h, acc3l, acc3h,
             acc4l, acc4h, acc5l, acc5h, acc6l, acc6h, acc7l, acc7h);
}

// The whole 8-row tile (rows j: lo_j, hi_j), as one loop over its rows: eight inlined
// store_tile_row calls made the pipeline take twice as long to build (docs/kernels.md).
fn store_tile(ob: u32, row0: u32, rows: u32, col0: u32,
              l0: vec4<f32>, h0: vec4<f32>, l1: vec4<f32>, h1: vec4<f32>, l2: vec4<f32>, h2: vec4<f32>,
              l3: vec4<f32>, h3: vec4<f32>, l4: vec4<f32>, h4: vec4<f32>, l5: vec4<f32>, h5: vec4<f32>,
              l6: vec4<f32>, h6: vec4<f32>, l7: vec4<f32>, h7: vec4<f32>) {
  for (var j = 0u; j < 8u; j++) {
    let r = tile_row(j, l0, h0, l1, h1, l2, h2, l3, h3, l4, h4, l5, h5, l6, h6, l7, h7);
    store_tile_row(ob, row0, j, rows, col0, r.lo, r.hi);
  }
}

// Row j of an 8-row tile held as named vec4s: its columns col0 … +3 (lo) and +4 … +7 (hi).
// The stores pick their row with it inside a loop (store_tile here, forward_quad's
// epilogue store in conv2d-quad.wgsl).
struct TileRow { lo: vec4<f32>, hi: vec4<f32> }

fn tile_row(j: u32, l0: vec4<f32>, h0: vec4<f32>, l1: vec4<f32>, h1: vec4<f32>, l2: vec4<f32>, h2: vec4<f32>,
            l3: vec4<f32>, h3: vec4<f32>, l4: vec4<f32>, h4: vec4<f32>, l5: vec4<f32>, h5: vec4<f32>,
            l6: vec4<f32>, h6: vec4<f32>, l7: vec4<f32>, h7: vec4<f32>) -> TileRow {
  switch j {
    case 0u: { return TileRow(l0, h0); }
    case 1u: { return TileRow(l1, h1); }
    case 2u: { return TileRow(l2, h2); }
    case 3u: { return TileRow(l3, h3); }
    case 4u: { return TileRow(l4, h4); }
    case 5u: { return TileRow(l5, h5); }
    case 6u: { return TileRow(l6, h6); }
    default: { return TileRow(l7, h7); }
  }
}

// Row j of an 8-row tile of [rows, cout] whose first row, row0, starts at element ob:
// columns col0 … +3 (lo) and, with TN = 8, col0 + 4 … +7 (hi). Rows past the last are dropped.
fn store_tile_row(ob: u32, row0: u32, j: u32, rows: u32, col0: u32, lo: vec4<f32>, hi: vec4<f32>) {
  if (row0 + j >= rows) { return; }
  let o = ob + j * params.cout;
  store4(o, col0, params.cog, lo);
  if (TN == 8u) { store4(o + 4u, col0 + 4u, params.cog, hi); }
}

// Zero-padded copy of x for the forward: out is [n, h, w, cin] with h, w the padded
// sizes; the source is [n, k_chunk, size, cin]. A negative pt / pl crops instead (dX
// phases whose first tap starts below dy's first row). pad_input moves one element per
// invocation, pad_input4 / pad_input16 four / sixteen channels of a pixel per access.

// Where element i of the padded copy reads x (in its own units: an element, or a run of
// 4 or 16 channels of one pixel), and whether that is inside x.
struct PadSource { at: u32, inside: bool }

fn pad_source(i: u32, width: u32) -> PadSource {
  let q = nhwc_of(i * width, params.h, params.w, params.cin);
  let py = i32(q.y) - params.pt;
  let px = i32(q.z) - params.pl;
  let src_h = i32(params.k_chunk);
  let src_w = i32(params.size);
  let inside = py >= 0 && py < src_h && px >= 0 && px < src_w;
  // Outside the source: read its first element (in bounds) and store a zero.
  return PadSource(select(0u, (((q.x * u32(src_h) + u32(py)) * u32(src_w) + u32(px)) * params.cin + q.w) / width, inside), inside);
}

@compute @workgroup_size(WG)
fn pad_input(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_workgroup(wid, nwg) * WG + lid;
  if (i >= params.n * params.h * params.w * params.cin) { return; }
  let s = pad_source(i, 1u);
  out[i] = select(0.0, x[s.at], s.inside);
}

// pad_input with four channels per access (cin % 4 == 0).
@compute @workgroup_size(WG)
fn pad_input4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_workgroup(wid, nwg) * WG + lid;
  if (i >= params.n * params.h * params.w * params.cin / 4u) { return; }
  let s = pad_source(i, 4u);
  outv[i] = select(vec4<f32>(0.0), xv[s.at], s.inside);
}

// pad_input with sixteen channels per access (cin % 16 == 0).
@compute @workgroup_size(WG)
fn pad_input16(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_workgroup(wid, nwg) * WG + lid;
  if (i >= params.n * params.h * params.w * params.cin / 16u) { return; }
  let s = pad_source(i, 16u);
  let v = xm[s.at];
  let z = vec4<f32>(0.0);
  // select() takes no matrices; a product with 0 would keep NaNs of x.
  outm[i] = mat4x4<f32>(select(z, v[0], s.inside), select(z, v[1], s.inside), select(z, v[2], s.inside), select(z, v[3], s.inside));
}

// ------------------------------------------------------------------ dw (fallback)

// The 4×4 dW for channel counts that dw_tiled cannot take (cig or cog not a multiple of
// 4: stems, depthwise, odd widths), on the unpadded x. Rows are weight taps (ky, kx, ci)
// in HWIO order; K is the output pixels of a range of output rows (b, oh) — one range per
// split (grid z). With VEC_K (cig % 4 == 0, so cog is the odd one) a tile's four rows
// share (ky, kx) and are consecutive ci: per output row the columns ow whose tap lands
// inside the input are one contiguous range, so the inner loop has no tests. Otherwise
// (cig = 1, 2, 3) each row masks its own tap.
@compute @workgroup_size(WG)
fn dw(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let rows = params.kh * params.kw * params.cig;
  let tl = tile_of(lid, wid, vec3<u32>(0u), rows);   // z is the split here, never a fold
  if (!tl.ok) { return; }
  let g = wid.y;
  let r0 = wid.z * params.k_chunk;
  let r1 = min(params.n * params.ho, r0 + params.k_chunk);
  var kyd: vec4<i32>;   // ih = oh·sh + kyd (padding folded in)
  var kxd: vec4<i32>;   // iw = ow·sw + kxd
  var cis: vec4<u32>;
  var live: vec4<bool>;
  for (var r = 0u; r < 4u; r++) {
    let m = min(tl.row0 + r, rows - 1u);
    cis[r] = m % params.cig;
    kxd[r] = i32(((m / params.cig) % params.kw) * params.dw) - params.pl;
    kyd[r] = i32((m / (params.cig * params.kw)) * params.dh) - params.pt;
    live[r] = tl.row0 + r < rows;
  }
  let xc = g * params.cig;
  let gco = g * params.cog + tl.col0;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  // Columns past the group's edge re-read its last column; the store drops them.
  let cc = min(vec4<u32>(tl.col0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.cog - 1u)) - vec4<u32>(tl.col0);
  if (VEC_K) {
    // Valid ow: 0 <= ow·sw + kxd < w.
    let kx = kxd.x;
    let lo = select(0u, (u32(-kx) + params.sw - 1u) / params.sw, kx < 0);
    let span = i32(params.w) - 1 - kx;
    let hi = select(0u, min(params.wo, u32(span) / params.sw + 1u), span >= 0);
    let xstep = params.sw * params.cin;
    for (var orow = r0; orow < r1; orow++) {
      let ih = i32((orow % params.ho) * params.sh) + kyd.x;
      if (ih < 0 || ih >= i32(params.h) || lo >= hi) { continue; }
      let b = orow / params.ho;
      var xo = ((b * params.h + u32(ih)) * params.w + u32(i32(lo * params.sw) + kx)) * params.cin + xc + cis.x;
      var yo = (orow * params.wo + lo) * params.cout + gco;
      for (var ow = lo; ow < hi; ow++) {
        let d = vec4<f32>(dy[yo + cc.x], dy[yo + cc.y], dy[yo + cc.z], dy[yo + cc.w]);
        let a = load_x4(xo);
        acc0 += a.x * d;
        acc1 += a.y * d;
        acc2 += a.z * d;
        acc3 += a.w * d;
        xo += xstep;
        yo += params.cout;
      }
    }
  } else {
    for (var orow = r0; orow < r1; orow++) {
      let b = orow / params.ho;
      let ih = vec4<i32>(i32((orow % params.ho) * params.sh)) + kyd;
      let okh = live & (ih >= vec4<i32>(0)) & (ih < vec4<i32>(i32(params.h)));
      let xrow = (vec4<u32>(b * params.h) + vec4<u32>(max(ih, vec4<i32>(0)))) * params.w;
      for (var ow = 0u; ow < params.wo; ow++) {
        let yo = (orow * params.wo + ow) * params.cout + gco;
        var d = vec4<f32>(0.0);
        for (var j = 0u; j < 4u; j++) { if (tl.col0 + j < params.cog) { d[j] = dy[yo + j]; } }
        let iw = vec4<i32>(i32(ow * params.sw)) + kxd;
        let ok = okh & (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(params.w)));
        let xo = select(vec4<u32>(0u), (xrow + vec4<u32>(max(iw, vec4<i32>(0)))) * params.cin + vec4<u32>(xc) + cis, ok);
        let a = select(vec4<f32>(0.0), vec4<f32>(x[xo.x], x[xo.y], x[xo.z], x[xo.w]), ok);
        acc0 += a.x * d;
        acc1 += a.y * d;
        acc2 += a.z * d;
        acc3 += a.w * d;
      }
    }
  }
  // Split z writes its own partial copy of dW (HWIO layout); reduce_splits sums them.
  let ob = wid.z * rows * params.cout + tl.row0 * params.cout + gco;
  if (live.x) { store4(ob, tl.col0, params.cog, acc0); }
  if (live.y) { store4(ob + params.cout, tl.col0, params.cog, acc1); }
  if (live.z) { store4(ob + 2u * params.cout, tl.col0, params.cog, acc2); }
  if (live.w) { store4(ob + 3u * params.cout, tl.col0, params.cog, acc3); }
}

// The weights of one phase of the transposed conv: out[jy, jx, co, g·cig + ci] =
// W[ky0 + jy·sy, kx0 + jx·sx, ci, g·cog + co] — the taps that reach this phase, in flipped
// order (negative steps), with in/out channels swapped within each group.
@compute @workgroup_size(WG)
fn phase_weights(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_workgroup(wid, nwg) * WG + lid;
  let kw_out = params.phase.y;
  if (i >= params.phase.x * kw_out * params.cog * params.cin) { return; }
  let cin = i % params.cin;
  let co = (i / params.cin) % params.cog;
  let t = i / (params.cin * params.cog);
  let ky = u32(params.tap.x + i32(t / kw_out) * params.tap.y);
  let kx = u32(params.tap.z + i32(t % kw_out) * params.tap.w);
  let g = cin / params.cig;
  out[i] = wt[((ky * params.kw + kx) * params.cig + cin % params.cig) * params.cout + g * params.cog + co];
}

// dx[b, py + sh·i, px + sw·j, c] = part[b, i, j, c]: one phase's result into its holes.
@compute @workgroup_size(WG)
fn scatter_phase(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  // VEC_K (cin % 4 == 0): four channels per invocation, as in pad_input.
  let i = (flat_workgroup(wid, nwg) * WG + lid) * select(1u, 4u, VEC_K);
  let hq = params.phase.z;
  let wq = params.phase.w;
  if (i >= params.n * hq * wq * params.cin) { return; }
  let q = nhwc_of(i, hq, wq, params.cin);
  let b = q.x; let r = q.y; let j = q.z; let c = q.w;
  let o = ((b * params.h + params.phase.x + params.sh * r) * params.w + params.phase.y + params.sw * j) * params.cin + c;
  out[o] = part[i];
  if (VEC_K) { out[o + 1u] = part[i + 1u]; out[o + 2u] = part[i + 2u]; out[o + 3u] = part[i + 3u]; }
}

// dW on the GEMM core's tile, for cin/groups and cout/groups multiples of 4, from the
// zero-padded x (no masks). Rows 0–3 and 4–7 of the 8×TN tile are two blocks of four
// consecutive taps (ky, kx, ci..ci+3), each with its own offset into a pixel's channels;
// per output pixel: two vec4 x loads, TN/4 vec4 dy loads, 8·TN multiply-adds. The pixel
// walk is row by row so offsets only increment. Split z sums rows r0..r1 into its own
// partial copy of dW.
fn dw_tap(m: u32) -> u32 {
  let ci = m % params.cig;
  let kx = (m / params.cig) % params.kw;
  let ky = m / (params.cig * params.kw);
  return (ky * params.dh * params.w + kx * params.dw) * params.cin + ci;
}

@compute @workgroup_size(WG)
fn dw_tiled(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let rows = params.kh * params.kw * params.cig;
  let t = wid.x * WG + lid;
  if (t >= ((rows + 7u) / 8u) * params.tiles_n) { return; }
  let row0 = (t / params.tiles_n) * 8u;
  let col0 = (t % params.tiles_n) * TN;
  let g = wid.y;
  let ta = dw_tap(row0) / 4u;
  let tb = dw_tap(min(row0 + 4u, rows - 4u)) / 4u;
  let gc = g * params.cog;
  let cv0 = (gc + col0) / 4u;
  let cv1 = (gc + min(col0 + 4u, params.cog - 4u)) / 4u;
  let r0 = wid.z * params.k_chunk;
  let r1 = min(params.n * params.ho, r0 + params.k_chunk);
  let xstep = params.sw * params.cin / 4u;
  let c4 = params.cout / 4u;
  var acc0l = vec4<f32>(0.0); var acc0h = vec4<f32>(0.0);
  var acc1l = vec4<f32>(0.0); var acc1h = vec4<f32>(0.0);
  var acc2l = vec4<f32>(0.0); var acc2h = vec4<f32>(0.0);
  var acc3l = vec4<f32>(0.0); var acc3h = vec4<f32>(0.0);
  var acc4l = vec4<f32>(0.0); var acc4h = vec4<f32>(0.0);
  var acc5l = vec4<f32>(0.0); var acc5h = vec4<f32>(0.0);
  var acc6l = vec4<f32>(0.0); var acc6h = vec4<f32>(0.0);
  var acc7l = vec4<f32>(0.0); var acc7h = vec4<f32>(0.0);
  // One flat loop over the chunk's output pixels (not rows × columns: on SwiftShader each
  // entry into a loop costs about a short loop's work, and rows are 7–28 columns here).
  // dy is contiguous across rows; x's offset steps a column, and at a row's end moves to
  // the next output row's start (the next image's after its last row), by selects.
  let row_step = params.sh * params.w * params.cin / 4u;  // one output row down
  let img_step = params.h * params.w * params.cin / 4u;   // one image on
  var oh = r0 % params.ho;
  var xrow = (((r0 / params.ho * params.h + oh * params.sh) * params.w) * params.cin + g * params.cig) / 4u;
  var xo = xrow;
  var yo = r0 * params.wo * c4;
  var ow = 0u;
  let pixels = select(0u, (r1 - r0) * params.wo, r1 > r0);
  for (var i = 0u; i < pixels; i++) {
    let xa = xv[xo + ta];
    let xb = xv[xo + tb];
    let dl = dyv[yo + cv0];
    acc0l += xa.x * dl; acc1l += xa.y * dl; acc2l += xa.z * dl; acc3l += xa.w * dl;
    acc4l += xb.x * dl; acc5l += xb.y * dl; acc6l += xb.z * dl; acc7l += xb.w * dl;
    if (TN == 8u) {
      let dh = dyv[yo + cv1];
      acc0h += xa.x * dh; acc1h += xa.y * dh; acc2h += xa.z * dh; acc3h += xa.w * dh;
      acc4h += xb.x * dh; acc5h += xb.y * dh; acc6h += xb.z * dh; acc7h += xb.w * dh;
    }
    yo += c4;
    ow += 1u;
    let row_end = ow == params.wo;
    let image_end = row_end && oh + 1u == params.ho;
    ow = select(ow, 0u, row_end);
    xrow = select(xrow, select(xrow + row_step, xrow + img_step - oh * row_step, image_end), row_end);
    oh = select(oh, select(oh + 1u, 0u, image_end), row_end);
    xo = select(xo + xstep, xrow, row_end);
  }
  let ob = wid.z * rows * params.cout + row0 * params.cout + gc + col0;
  store_tile(ob, row0, rows, col0, acc0l, acc0h, acc1l, acc1h, acc2l, acc2h, acc3l, acc3h,
             acc4l, acc4h, acc5l, acc5h, acc6l, acc6h, acc7l, acc7h);
}

// out[i] = Σ_s part[s·size + i]: the second pass of a split-K dW.
@compute @workgroup_size(WG)
fn reduce_splits(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_workgroup(wid, nwg) * WG + lid;
  if (i >= params.size) { return; }
  var s = 0.0;
  for (var k = 0u; k < params.splits; k++) { s += part[k * params.size + i]; }
  out[i] = s;
}

// The direct dW for small filters of narrow groups (kh, kw ≤ 3, 1, 4 or 8 input channels per
// group, output channels per group in tiles of 8: nano's and the small variants' grouped
// 3×3s), stride 1 or 2 and dilation 1 (or one tap) along the width. Appended to
// shaders/conv2d.wgsl (src/ops/conv2d/split-k-dw.ts joins them): Params, bindings and
// store4 are that file's, and so is dw_tiled's contract (zero-padded x; split z sums its
// output rows into its own partial copy of dW, reduce_splits adds the copies).
//
// WHY: `dw_tiled` gives a lane 8 weight rows and walks every pixel of its split, so per
// pixel it makes 4 vec4 loads (two of x, two of dy) for 64 multiply-adds; on SwiftShader
// every load is a per-lane gather, and the loads were most of its time. Here a lane owns
// the whole filter (every tap of its 4–8 input channels × 8 output channels: up to 72 × 8
// weights) for a few output rows, so dy's two loads per pixel serve all the taps, and
// each filter row's input window slides along the output row (one new load per pixel and
// 4-channel block at stride 1, two at stride 2). At 3×3, stride 1 and 8 channels, per
// pixel: 6 + 2 loads for 576 multiply-adds.
//
//  * Lanes: (chunk of k_chunk output rows, 8-channel column tile), grid y the group. The
//    chunk is the split: its partial dW goes to z = chunk.
//  * KH, KW (≤ 3), CB (4-channel input blocks, 1 or 2), SW and ONE_CHANNEL are overrides:
//    the filter rows, taps and blocks a lane owns are named accumulators, unrolled.

override KH: u32 = 3u;
override KW: u32 = 3u;
override CB: u32 = 2u;
override SW: u32 = 1u;   // stride along the width, 1 or 2
// One input channel per group (a stem's 1 → c conv): x is read a channel at a time into
// the .x of a vec4, and only the block's first row exists.
override ONE_CHANNEL: bool = false;

// One tap's 4 input channels × 8 output channels: rows c0 … c3, columns lo (0–3) and hi (4–7).
struct TapBlock { c0l: vec4<f32>, c0h: vec4<f32>, c1l: vec4<f32>, c1h: vec4<f32>, c2l: vec4<f32>, c2h: vec4<f32>, c3l: vec4<f32>, c3h: vec4<f32> }
// One filter row of one 4-channel block: its taps kx = 0 … KW − 1.
struct RowTaps { k0: TapBlock, k1: TapBlock, k2: TapBlock }
// That filter row's input at the taps' columns for the current pixel (w0 = column ow).
struct Window { w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32> }
// Everything a lane keeps for one (filter row, block): its accumulators, its window, and
// the vec4 offset of its input row's column 0 for the current output row.
struct FilterRow { acc: RowTaps, win: Window, at: u32 }

fn zero_tap_block() -> TapBlock {
  let z = vec4<f32>(0.0);
  return TapBlock(z, z, z, z, z, z, z, z);
}

fn zero_filter_row() -> FilterRow {
  let t = zero_tap_block();
  let z = vec4<f32>(0.0);
  return FilterRow(RowTaps(t, t, t), Window(z, z, z), 0u);
}

// acc += v ⊗ dy at one pixel: each of the input's 4 channels (v) times dy's 8 (dl, dh).
// (Not named x: wgsl_reflect would take it for the x binding.)
fn accumulate_tap(acc: ptr<function, TapBlock>, v: vec4<f32>, dl: vec4<f32>, dh: vec4<f32>) {
  (*acc).c0l += v.x * dl; (*acc).c0h += v.x * dh;
  if (ONE_CHANNEL) { return; }
  (*acc).c1l += v.y * dl; (*acc).c1h += v.y * dh;
  (*acc).c2l += v.z * dl; (*acc).c2h += v.z * dh;
  (*acc).c3l += v.w * dl; (*acc).c3h += v.w * dh;
}

// The input at `at`: 4 channels (a vec4 of xv), or with ONE_CHANNEL one (x, in .x).
fn load_x(at: u32) -> vec4<f32> {
  if (ONE_CHANNEL) { return vec4<f32>(x[at], 0.0, 0.0, 0.0); }
  return xv[at];
}

// A new output row: the filter row's input row starts at offset `at` (in load_x's units). The window
// starts with the columns the first pixel shares with the one before it would have: at
// stride 1, columns 0 … KW − 2; at stride 2 with 3 taps, column 0 (the rest are loaded
// per pixel).
fn start_row(f: ptr<function, FilterRow>, at: u32, px: u32) {
  (*f).at = at;
  let a = load_x(at);
  (*f).win = Window(a, a, a);
  if (SW == 1u && KW > 2u) { (*f).win.w1 = load_x(at + px); }
}

// Output pixel ow of the row: the columns it does not share with the previous pixel join
// the window (one at stride 1; at stride 2 all but the first of three), every tap
// accumulates, and the window moves SW columns on.
fn step_pixel(f: ptr<function, FilterRow>, ow: u32, px: u32, dl: vec4<f32>, dh: vec4<f32>) {
  let at = (*f).at + ow * SW * px;   // column ow·SW: tap 0's
  var w = (*f).win;
  if (SW == 1u) {
    let fresh = load_x(at + (KW - 1u) * px);
    if (KW == 1u) { w.w0 = fresh; }
    if (KW == 2u) { w.w1 = fresh; }
    if (KW == 3u) { w.w2 = fresh; }
  } else {
    if (KW < 3u) { w.w0 = load_x(at); }
    if (KW > 1u) { w.w1 = load_x(at + px); }
    if (KW > 2u) { w.w2 = load_x(at + 2u * px); }
  }
  accumulate_tap(&(*f).acc.k0, w.w0, dl, dh);
  if (KW > 1u) { accumulate_tap(&(*f).acc.k1, w.w1, dl, dh); }
  if (KW > 2u) { accumulate_tap(&(*f).acc.k2, w.w2, dl, dh); }
  // The next pixel's tap 0 is this one's tap SW (stride 1: w1; stride 2: w2).
  if (SW == 1u) {
    (*f).win = Window(w.w1, w.w2, w.w2);
  } else {
    (*f).win = Window(w.w2, w.w2, w.w2);
  }
}

// A tap block's 4 weight rows from element o of the partial dW (rows cout apart), 8
// columns: whole vec4s (o, cout and the columns are multiples of 4 here).
fn store_tap_block(o: u32, t: TapBlock) {
  let q = o / 4u;
  let c4 = params.cout / 4u;
  outv[q] = t.c0l; outv[q + 1u] = t.c0h;
  if (ONE_CHANNEL) { return; }
  outv[q + c4] = t.c1l; outv[q + c4 + 1u] = t.c1h;
  outv[q + 2u * c4] = t.c2l; outv[q + 2u * c4 + 1u] = t.c2h;
  outv[q + 3u * c4] = t.c3l; outv[q + 3u * c4 + 1u] = t.c3h;
}

// The filter row's taps: weight rows (ky, kx, 4·cb …) from element `o` of the partial dW,
// one tap (cig·cout elements) apart. Whole vec4s, unrolled: through store4's partial-column
// paths these 18 stores had taken the pipeline ~5.5 s to build, as vec4s ~0.7 s.
fn store_filter_row(o: u32, f: FilterRow) {
  let tap = params.cig * params.cout;
  store_tap_block(o, f.acc.k0);
  if (KW > 1u) { store_tap_block(o + tap, f.acc.k1); }
  if (KW > 2u) { store_tap_block(o + 2u * tap, f.acc.k2); }
}

@compute @workgroup_size(WG)
fn dw_taps(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let out_rows = params.n * params.ho;
  let chunks = (out_rows + params.k_chunk - 1u) / params.k_chunk;
  let lane = wid.x * WG + lid;
  if (lane >= chunks * params.tiles_n) { return; }
  let chunk = lane / params.tiles_n;
  let col0 = (lane % params.tiles_n) * 8u;
  let g = wid.y;
  let px = select(params.cin / 4u, params.cin, ONE_CHANNEL);   // load_x units per pixel
  let c4 = params.cout / 4u;
  let dy_col = (g * params.cog + col0) / 4u;
  let x_col = select(g * params.cig / 4u, g, ONE_CHANNEL);
  let r0 = chunk * params.k_chunk;
  let r1 = min(out_rows, r0 + params.k_chunk);
  // Filter rows ky = 0 … 2 (f0*, f1*, f2*) of blocks 0 and 1 (f*0, f*1), named: as an
  // array indexed by constants the pixel loop ran 20–30% slower.
  var f00 = zero_filter_row(); var f01 = zero_filter_row();
  var f10 = zero_filter_row(); var f11 = zero_filter_row();
  var f20 = zero_filter_row(); var f21 = zero_filter_row();
  let row_step = params.dh * params.w * px;   // one filter row down the input
  for (var r = r0; r < r1; r++) {
    let b = r / params.ho;
    let oh = r % params.ho;
    let at = ((b * params.h + oh * params.sh) * params.w) * px + x_col;
    start_row(&f00, at, px);
    if (CB > 1u) { start_row(&f01, at + 1u, px); }
    if (KH > 1u) { start_row(&f10, at + row_step, px); if (CB > 1u) { start_row(&f11, at + row_step + 1u, px); } }
    if (KH > 2u) { start_row(&f20, at + 2u * row_step, px); if (CB > 1u) { start_row(&f21, at + 2u * row_step + 1u, px); } }
    var yo = r * params.wo * c4 + dy_col;
    for (var ow = 0u; ow < params.wo; ow++) {
      let dl = dyv[yo];
      let dh = dyv[yo + 1u];
      step_pixel(&f00, ow, px, dl, dh);
      if (CB > 1u) { step_pixel(&f01, ow, px, dl, dh); }
      if (KH > 1u) { step_pixel(&f10, ow, px, dl, dh); if (CB > 1u) { step_pixel(&f11, ow, px, dl, dh); } }
      if (KH > 2u) { step_pixel(&f20, ow, px, dl, dh); if (CB > 1u) { step_pixel(&f21, ow, px, dl, dh); } }
      yo += c4;
    }
  }
  let rows = params.kh * params.kw * params.cig;
  let o = chunk * rows * params.cout + g * params.cog + col0;
  let filter_row = params.kw * params.cig * params.cout;
  let next_block = 4u * params.cout;
  store_filter_row(o, f00);
  if (CB > 1u) { store_filter_row(o + next_block, f01); }
  if (KH > 1u) { store_filter_row(o + filter_row, f10); if (CB > 1u) { store_filter_row(o + filter_row + next_block, f11); } }
  if (KH > 2u) { store_filter_row(o + 2u * filter_row, f20); if (CB > 1u) { store_filter_row(o + 2u * filter_row + next_block, f21); } }
}

enable subgroups;
// The four lanes of a quad always agree on their group and weight columns (the host sends
// only whole quads, and quads past the grid leave together), which is what quadBroadcast
// needs; the analysis only knows workgroup-wide uniformity.
diagnostic(off, subgroup_uniformity);

// The direct forward along output rows, for groups of 8, 16, 24 … output channels that the
// band kernel cannot take (nano's and the small nets' 8-channel groups). Appended to
// shaders/conv2d.wgsl (src/ops/conv2d/direct.ts joins them): Params, bindings, tile_index
// and mix4 are that file's, and so is the contract of `forward` (zero-padded x, vec4
// channel loads, weights [kh, kw, cig, cout]). Stride and dilation along the width are 1.
//
// WHY: `forward` gives a lane 8 output pixels anywhere in the image, so each of its taps
// is 8 fresh input loads, and 8 weight loads that every lane of the quad repeats; on
// SwiftShader every load is a per-lane gather, and those gathers were most of the kernel
// (the inputs' or the weights' loads replaced by constants: 40% less time each). Here a
// lane owns a run of TW neighbouring pixels of one output row, so the kw taps of a filter
// row see the same inputs shifted by one column: the window slides, one new load per tap
// after the first. And the quad's lanes (four runs) share their weights: each loads one
// of a tap's four channel rows and quadBroadcast hands it to the others. Per filter row
// and 4 input channels, at kw = 3: 10 input and 6 weight loads against `forward`'s 24 and
// 24, for the same 768 multiply-adds.
//
//  * One invocation: TW ≤ 8 pixels of one output row × 8 output channels (lo, hi halves).
//    The runs of an output row are ceil(wo / TW); quads are row-major over (runs of 4,
//    column tiles of 8) per group (grid y).
//  * The reduction walks (ky, 4 channels) in one flat loop, and the kw ≤ 3 taps inside it
//    unrolled (KW is an override). Each tap's four channels are summed as mix4 sums them.
//  * Runs past the last re-read the last one and skip the store; window columns past the
//    padded row re-read its last column, and their pixels (past wo) are dropped.
//  * The store applies the fused epilogue (shaders/epilogue.wgsl, appended with act.wgsl).

@group(0) @binding(12) var<storage, read> epi_bias: array<vec4<f32>>;

override TW: u32 = 8u;   // pixels per run, 1…8
override KW: u32 = 3u;   // taps per filter row, 1…3 (the host's kw)

// One vec4 of each of a run's 8 pixels: its inputs' 4 channels at one tap (the window),
// or 4 output channels' accumulators. Pixels from TW on are unused.
struct Run { p0: vec4<f32>, p1: vec4<f32>, p2: vec4<f32>, p3: vec4<f32>, p4: vec4<f32>, p5: vec4<f32>, p6: vec4<f32>, p7: vec4<f32> }
// Four consecutive weight rows (one tap, 4 input channels) at the quad's 8 output channels.
struct TapWeights { l0: vec4<f32>, h0: vec4<f32>, l1: vec4<f32>, h1: vec4<f32>, l2: vec4<f32>, h2: vec4<f32>, l3: vec4<f32>, h3: vec4<f32> }
// Vec4 offsets (from a filter row's start) of the window's columns: the first tap's TW,
// then the next column for each further tap.
struct Columns { c0: u32, c1: u32, c2: u32, c3: u32, c4: u32, c5: u32, c6: u32, c7: u32, next1: u32, next2: u32 }

fn zero_run() -> Run {
  let z = vec4<f32>(0.0);
  return Run(z, z, z, z, z, z, z, z);
}

// The first tap's window: the run's TW columns of the filter row at vec4 offset `at`.
fn load_window(at: u32, c: Columns) -> Run {
  var w = zero_run();
  w.p0 = xv[at + c.c0];
  if (TW > 1u) { w.p1 = xv[at + c.c1]; }
  if (TW > 2u) { w.p2 = xv[at + c.c2]; }
  if (TW > 3u) { w.p3 = xv[at + c.c3]; }
  if (TW > 4u) { w.p4 = xv[at + c.c4]; }
  if (TW > 5u) { w.p5 = xv[at + c.c5]; }
  if (TW > 6u) { w.p6 = xv[at + c.c6]; }
  if (TW > 7u) { w.p7 = xv[at + c.c7]; }
  return w;
}

// The window one tap on: each pixel takes its right neighbour's input, and the last
// (pixel TW − 1) the newly loaded column `fresh`. The selects fold (TW is an override).
fn slide(w: Run, fresh: vec4<f32>) -> Run {
  return Run(select(w.p1, fresh, TW == 1u), select(w.p2, fresh, TW == 2u), select(w.p3, fresh, TW == 3u),
             select(w.p4, fresh, TW == 4u), select(w.p5, fresh, TW == 5u), select(w.p6, fresh, TW == 6u),
             select(w.p7, fresh, TW == 7u), fresh);
}

// Weight rows at vec4 index `at` (row r) … r + 3 (c4 vec4s apart), 8 columns: lane L
// loads row r + L's two vec4s, and every lane receives all four rows.
fn tap_weights(at: u32, c4: u32, lane: u32) -> TapWeights {
  let o = at + lane * c4;
  let lo = wv[o];
  let hi = wv[o + 1u];
  return TapWeights(quadBroadcast(lo, 0u), quadBroadcast(hi, 0u), quadBroadcast(lo, 1u), quadBroadcast(hi, 1u),
                    quadBroadcast(lo, 2u), quadBroadcast(hi, 2u), quadBroadcast(lo, 3u), quadBroadcast(hi, 3u));
}

// acc += mix4(window, y0 … y3) for the run's TW pixels (in place: a copy of the run would
// cost a pass over it).
fn mix_run(acc: ptr<function, Run>, w: Run, y0: vec4<f32>, y1: vec4<f32>, y2: vec4<f32>, y3: vec4<f32>) {
  (*acc).p0 += mix4(w.p0, y0, y1, y2, y3);
  if (TW > 1u) { (*acc).p1 += mix4(w.p1, y0, y1, y2, y3); }
  if (TW > 2u) { (*acc).p2 += mix4(w.p2, y0, y1, y2, y3); }
  if (TW > 3u) { (*acc).p3 += mix4(w.p3, y0, y1, y2, y3); }
  if (TW > 4u) { (*acc).p4 += mix4(w.p4, y0, y1, y2, y3); }
  if (TW > 5u) { (*acc).p5 += mix4(w.p5, y0, y1, y2, y3); }
  if (TW > 6u) { (*acc).p6 += mix4(w.p6, y0, y1, y2, y3); }
  if (TW > 7u) { (*acc).p7 += mix4(w.p7, y0, y1, y2, y3); }
}

// One tap: 4 input channels of the window against the tap's weights, both halves.
fn step_tap(lo: ptr<function, Run>, hi: ptr<function, Run>, w: Run, y: TapWeights) {
  mix_run(lo, w, y.l0, y.l1, y.l2, y.l3);
  mix_run(hi, w, y.h0, y.h1, y.h2, y.h3);
}

// Pixel p of a run.
fn run_at(r: ptr<function, Run>, p: u32) -> vec4<f32> {
  switch p {
    case 0u: { return (*r).p0; }
    case 1u: { return (*r).p1; }
    case 2u: { return (*r).p2; }
    case 3u: { return (*r).p3; }
    case 4u: { return (*r).p4; }
    case 5u: { return (*r).p5; }
    case 6u: { return (*r).p6; }
    default: { return (*r).p7; }
  }
}

// The window's column offsets for a run starting at output column ow0, clamped to the
// padded row (width w, cin4 vec4s a pixel).
fn window_columns(ow0: u32, cin4: u32) -> Columns {
  let last = params.w - 1u;
  return Columns(min(ow0, last) * cin4, min(ow0 + 1u, last) * cin4, min(ow0 + 2u, last) * cin4,
                 min(ow0 + 3u, last) * cin4, min(ow0 + 4u, last) * cin4, min(ow0 + 5u, last) * cin4,
                 min(ow0 + 6u, last) * cin4, min(ow0 + 7u, last) * cin4,
                 min(ow0 + TW, last) * cin4, min(ow0 + TW + 1u, last) * cin4);
}

@compute @workgroup_size(WG)
fn forward_rows(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let per_row = (params.wo + TW - 1u) / TW;
  let runs = params.n * params.ho * per_row;
  let quad = tile_index(lid, wid, nwg) / 4u;
  // tiles_n = column tiles of 8 per group; WG is a multiple of 4, so whole quads leave together.
  if (quad >= ((runs + 3u) / 4u) * params.tiles_n) { return; }
  let lane = lid & 3u;
  let mine = (quad / params.tiles_n) * 4u + lane;
  let run = min(mine, runs - 1u);
  let g = wid.y;
  let out_row = run / per_row;                    // b·ho + oh
  let ow0 = (run % per_row) * TW;
  let b = out_row / params.ho;
  let oh = out_row % params.ho;
  let cin4 = params.cin / 4u;
  let c4 = params.cout / 4u;
  let col4 = (g * params.cog + (quad % params.tiles_n) * 8u) / 4u;   // vec4 index of the tile's first output channel
  let cols = window_columns(ow0, cin4);

  var lo = zero_run();
  var hi = zero_run();
  // (ky, ci) in steps of 4 channels; `xrow` is filter row ky's input row, `krow` the
  // weight row of (ky, kx = 0, ci).
  let blocks = params.cig / 4u;
  let tap_rows = params.cig * c4;                 // weight vec4s from one tap to the next
  var xrow = ((b * params.h + oh * params.sh) * params.w) * cin4 + g * params.cig / 4u;
  var krow = 0u;
  var ci4 = 0u;
  for (var k = 0u; k < params.kh * blocks; k++) {
    let at = xrow + ci4;
    var win = load_window(at, cols);
    let wat = krow * c4 + col4;
    step_tap(&lo, &hi, win, tap_weights(wat, c4, lane));
    if (KW > 1u) {
      win = slide(win, xv[at + cols.next1]);
      step_tap(&lo, &hi, win, tap_weights(wat + tap_rows, c4, lane));
    }
    if (KW > 2u) {
      win = slide(win, xv[at + cols.next2]);
      step_tap(&lo, &hi, win, tap_weights(wat + 2u * tap_rows, c4, lane));
    }
    // The next 4 channels; past the last, the next filter row (its kw taps' rows on).
    ci4 += 1u;
    krow += 4u;
    let row_done = ci4 == blocks;
    ci4 = select(ci4, 0u, row_done);
    xrow = select(xrow, xrow + params.dh * params.w * cin4, row_done);
    krow = select(krow, krow + (KW - 1u) * params.cig, row_done);
  }

  if (mine >= runs) { return; }
  let bias_lo = epi_bias4(col4);
  let bias_hi = epi_bias4(col4 + 1u);
  let ob = (out_row * params.wo + ow0) * c4 + col4;
  // A loop, not TW inlined stores: the epilogue's activation is compiled once (build time).
  for (var p = 0u; p < TW; p++) {
    if (ow0 + p >= params.wo) { break; }
    let o = ob + p * c4;
    outv[o] = epilogue4(run_at(&lo, p), bias_lo);
    outv[o + 1u] = epilogue4(run_at(&hi, p), bias_hi);
  }
}

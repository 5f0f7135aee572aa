enable subgroups;
// The four lanes of a quad always agree on their channel block (the grid is padded per
// block to whole quads), which is what quadBroadcast needs; the analysis only knows
// workgroup-wide uniformity.
diagnostic(off, subgroup_uniformity);

// The small-conv forward of shaders/conv2d-small.wgsl (same contract: NHWC activations,
// HWIO weights, few input channels), for adapters with `subgroups` and cout a multiple of
// 16. src/ops/conv2d/small.ts picks it on SwiftShader.
//
// WHY: on SwiftShader every storage access is a per-lane gather, and with Dawn's
// robustness on (the default) each access also pays an index clamp. In `forward` each lane
// loads its own copy of the tap's weights, the same for the whole workgroup: two vec4s
// per tap for 8 channels. Here the four lanes of a quad own four neighbouring 4-column
// blocks of 16 channels each; per tap each lane loads one vec4 (4 of the 16 channels) and
// quadBroadcast hands all four to every lane (an extract and a splat, no memory). At
// column stride and dilation 1, a tap row's input columns are read once for all its taps.
// Per 64 outputs of a 3×3, 1-channel filter a lane makes 31 accesses where `forward`
// makes 106; outputs leave as one mat4x4 per column.
//
//  * One invocation: 4 output columns of one output row × 16 channels, accumulated as
//    four mat4x4s (column j of the block in c_j; column k of c_j holds channels 4k … 4k+3).
//  * Invocations are numbered per channel block, padded to whole quads: a lane past its
//    block's last column block runs the loop on clamped addresses (its quad needs its
//    share of the weights) and skips the store.

// This file is appended to shaders/conv2d-small.wgsl (src/ops/conv2d/small.ts joins
// them): Params, x, wt, the overrides and load_x are that file's; the outputs are bound as
// mat4x4s here.
// Params.cblocks counts 16-channel blocks (cout / 16) for this entry, and blocks counts
// 4-column blocks.
@group(0) @binding(4) var<storage, read_write> out16: array<mat4x4<f32>>;
// The fused epilogue's biases (shaders/epilogue.wgsl, appended with act.wgsl).
@group(0) @binding(5) var<storage, read> epi_bias: array<vec4<f32>>;

// One output pixel's 16 channels of block cb through the epilogue (column k: channels 4k … 4k+3).
fn epilogue16(c: mat4x4<f32>, b: mat4x4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(epilogue4(c[0], b[0]), epilogue4(c[1], b[1]), epilogue4(c[2], b[2]), epilogue4(c[3], b[3]));
}

// The tap's 16 weights of the quad's channel block: each lane loads its vec4 (channels
// 16·cb + 4·lane … +3), every lane receives all four.
fn tap_weights(tap: u32, cb: u32, lane: u32) -> mat4x4<f32> {
  let v = wt[tap * params.q + 4u * cb + lane];
  return mat4x4<f32>(quadBroadcast(v, 0u), quadBroadcast(v, 1u), quadBroadcast(v, 2u), quadBroadcast(v, 3u));
}

@compute @workgroup_size(WG)
fn forward_quad(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  let per_block = params.n * params.ho * params.blocks;   // invocations of one channel block
  let padded = (per_block + 3u) & ~3u;                    // … padded to whole quads
  let cb = t / padded;
  if (cb >= params.cblocks) { return; }                   // whole quads leave together
  let live = t % padded;
  let r = min(live, per_block - 1u);
  let blk = r % params.blocks;
  let row_o = r / params.blocks;                          // b·ho + oh
  let oh = row_o % params.ho;
  let b = row_o / params.ho;
  let ow0 = blk * 4u;
  var c0 = mat4x4<f32>(); var c1 = mat4x4<f32>(); var c2 = mat4x4<f32>(); var c3 = mat4x4<f32>();
  let ih0 = i32(oh * params.sh) - params.pt;
  let iw0 = i32(ow0) - params.pl;
  let lane = lid & 3u;
  // One flat loop over the filter's rows (ky, ci); each row's KW + 3 input columns are
  // read once and serve all KW taps (column stride and dilation 1: output column j, tap kx
  // reads column iw0 + j + kx). Per tap row of a 3-wide filter: 6 input loads, not 12.
  let tap_rows = KH * params.cin;
  for (var tr = 0u; tr < tap_rows; tr++) {
    let ci = tr % params.cin;
    let ky = tr / params.cin;
    let ih = ih0 + i32(ky * params.dh);
    let row_in = ih >= 0 && ih < i32(params.h);
    let row = (b * params.h + u32(clamp(ih, 0, i32(params.h) - 1))) * params.w * params.cin;
    var v: array<f32, 10>;   // columns iw0 … iw0 + KW + 2 (KW ≤ 7)
    v[0] = load_x(row, iw0, ci, row_in); v[1] = load_x(row, iw0 + 1, ci, row_in);
    v[2] = load_x(row, iw0 + 2, ci, row_in); v[3] = load_x(row, iw0 + 3, ci, row_in);
    if (KW > 1u) { v[4] = load_x(row, iw0 + 4, ci, row_in); }
    if (KW > 2u) { v[5] = load_x(row, iw0 + 5, ci, row_in); }
    if (KW > 3u) { v[6] = load_x(row, iw0 + 6, ci, row_in); }
    if (KW > 4u) { v[7] = load_x(row, iw0 + 7, ci, row_in); }
    if (KW > 5u) { v[8] = load_x(row, iw0 + 8, ci, row_in); }
    if (KW > 6u) { v[9] = load_x(row, iw0 + 9, ci, row_in); }
    // Tap (ky, kx, ci) is weight row (ky·KW + kx)·cin + ci.
    let t0 = ky * KW * params.cin + ci;
    let cs = params.cin;
    var f = tap_weights(t0, cb, lane);
    c0 += v[0] * f; c1 += v[1] * f; c2 += v[2] * f; c3 += v[3] * f;
    if (KW > 1u) { f = tap_weights(t0 + cs, cb, lane); c0 += v[1] * f; c1 += v[2] * f; c2 += v[3] * f; c3 += v[4] * f; }
    if (KW > 2u) { f = tap_weights(t0 + 2u * cs, cb, lane); c0 += v[2] * f; c1 += v[3] * f; c2 += v[4] * f; c3 += v[5] * f; }
    if (KW > 3u) { f = tap_weights(t0 + 3u * cs, cb, lane); c0 += v[3] * f; c1 += v[4] * f; c2 += v[5] * f; c3 += v[6] * f; }
    if (KW > 4u) { f = tap_weights(t0 + 4u * cs, cb, lane); c0 += v[4] * f; c1 += v[5] * f; c2 += v[6] * f; c3 += v[7] * f; }
    if (KW > 5u) { f = tap_weights(t0 + 5u * cs, cb, lane); c0 += v[5] * f; c1 += v[6] * f; c2 += v[7] * f; c3 += v[8] * f; }
    if (KW > 6u) { f = tap_weights(t0 + 6u * cs, cb, lane); c0 += v[6] * f; c1 += v[7] * f; c2 += v[8] * f; c3 += v[9] * f; }
  }
  if (live >= per_block) { return; }
  // Output pixel p's block cb is mat4x4 p·cblocks + cb.
  let p = (row_o * params.wo + ow0) * params.cblocks + cb;
  let bias = mat4x4<f32>(epi_bias4(4u * cb), epi_bias4(4u * cb + 1u), epi_bias4(4u * cb + 2u), epi_bias4(4u * cb + 3u));
  out16[p] = epilogue16(c0, bias);
  if (ow0 + 1u < params.wo) { out16[p + params.cblocks] = epilogue16(c1, bias); }
  if (ow0 + 2u < params.wo) { out16[p + 2u * params.cblocks] = epilogue16(c2, bias); }
  if (ow0 + 3u < params.wo) { out16[p + 3u * params.cblocks] = epilogue16(c3, bias); }
}

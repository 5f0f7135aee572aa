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
// quadBroadcast hands all four to every lane (an extract and a splat, no memory). Per 64
// outputs of a 3×3, 1-channel filter a lane makes 49 accesses (136 lane loads and stores)
// where `forward` makes 106 (208); outputs leave as one mat4x4 per column.
//
//  * One invocation: 4 output columns of one output row × 16 channels, accumulated as
//    four mat4x4s (column j of the block in c_j; column k of c_j holds channels 4k … 4k+3).
//  * Invocations are numbered per channel block, padded to whole quads: a lane past its
//    block's last column block runs the loop on clamped addresses (its quad needs its
//    share of the weights) and skips the store.

// This file is appended to shaders/conv2d-small.wgsl (src/ops/conv2d/small.ts joins
// them): Params, x, wt, load_x and tap_at are that file's; the outputs are bound as mat4x4s here.
// Params.cblocks counts 16-channel blocks (cout / 16) for this entry, and blocks counts
// 4-column blocks.
@group(0) @binding(4) var<storage, read_write> out16: array<mat4x4<f32>>;

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
  let sw = i32(params.sw);
  var c0 = mat4x4<f32>(); var c1 = mat4x4<f32>(); var c2 = mat4x4<f32>(); var c3 = mat4x4<f32>();
  let ih0 = i32(oh * params.sh) - params.pt;
  let iw0 = i32(ow0 * params.sw) - params.pl;
  let taps = KH * KW * params.cin;
  let lane = lid & 3u;
  // One flat loop over (ky, kx, ci), the weights' own order: on SwiftShader entering a loop
  // costs about as much as a loop's work here (shaders/conv2d-small.wgsl).
  for (var tap = 0u; tap < taps; tap++) {
    let at = tap_at(tap, b, ih0, iw0);
    let f = tap_weights(tap, cb, lane);
    c0 += load_x(at.row, at.iw, at.ci, at.row_in) * f;
    c1 += load_x(at.row, at.iw + sw, at.ci, at.row_in) * f;
    c2 += load_x(at.row, at.iw + 2 * sw, at.ci, at.row_in) * f;
    c3 += load_x(at.row, at.iw + 3 * sw, at.ci, at.row_in) * f;
  }
  if (live >= per_block) { return; }
  // Output pixel p's block cb is mat4x4 p·cblocks + cb.
  let p = (row_o * params.wo + ow0) * params.cblocks + cb;
  out16[p] = c0;
  if (ow0 + 1u < params.wo) { out16[p + params.cblocks] = c1; }
  if (ow0 + 2u < params.wo) { out16[p + 2u * params.cblocks] = c2; }
  if (ow0 + 3u < params.wo) { out16[p + 3u * params.cblocks] = c3; }
}

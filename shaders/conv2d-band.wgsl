enable subgroups;
// The four lanes of a quad always agree on their weight band (the host sends only whole
// quads, and quads past the grid leave together), which is what quadBroadcast needs; the
// analysis only knows workgroup-wide uniformity.
diagnostic(off, subgroup_uniformity);

// The direct forward with its weights shared across a quad, the forward's counterpart of
// the quad GEMM (shaders/matmul-quad.wgsl). Appended to shaders/conv2d.wgsl
// (src/ops/conv2d/direct.ts joins them): Params, bindings, fwd_row, next_row and KWalk are
// that file's, and so is the contract of `forward` (zero-padded x, vec4 channel loads).
//
// WHY: in `forward_quad` the four lanes of a quad share input rows and each loads its own
// weight columns: per four reduction steps a lane makes 10 vec4 loads for 256
// multiply-adds, and on SwiftShader every load is a per-lane gather. Here the lanes own
// four 8-row tiles stacked along the output pixels, and share one 32-channel band of the
// weights: per four reduction steps a lane loads its 8 rows' inputs and 8 of the band's
// 128 weights (16 vec4 loads) and quadBroadcast hands the band to every lane, for 1024
// multiply-adds: 2.5× fewer loads per multiply-add.
//
//  * One invocation: 8 output pixels × 32 output channels (`Band`s of eight vec4s). A quad
//    covers 32 pixels × one band; quads are row-major over (pixel quads, bands) per group.
//  * Needs vec4 channels (cin/groups % 4 == 0) and whole bands (cout/groups % 32 == 0).
//  * Pixels past the last re-read the last one (next_row) and skip the store.
//  * The store applies the fused epilogue (shaders/epilogue.wgsl, appended with act.wgsl).

@group(0) @binding(12) var<storage, read> epi_bias: array<vec4<f32>>;

// 32 consecutive output channels of one output pixel (or one row of the weight band).
struct Band { q0: vec4<f32>, q1: vec4<f32>, q2: vec4<f32>, q3: vec4<f32>, q4: vec4<f32>, q5: vec4<f32>, q6: vec4<f32>, q7: vec4<f32> }
// A lane's accumulators: its 8 pixels' bands.
struct BandTile { r0: Band, r1: Band, r2: Band, r3: Band, r4: Band, r5: Band, r6: Band, r7: Band }
// Its 8 pixels' inputs at one K step (4 channels each).
struct Inputs { x0: vec4<f32>, x1: vec4<f32>, x2: vec4<f32>, x3: vec4<f32>, x4: vec4<f32>, x5: vec4<f32>, x6: vec4<f32>, x7: vec4<f32> }

fn zero_band() -> Band {
  let z = vec4<f32>(0.0);
  return Band(z, z, z, z, z, z, z, z);
}

// acc + (a.x·y0 + a.y·y1 + a.z·y2 + a.w·y3) over the 32 channels: four reduction steps,
// summed as `forward` and `forward_quad` sum them (mix4), so that every direct kernel
// gives the same bits and any of them can stand in for another.
fn mix_band(acc: Band, a: vec4<f32>, y0: Band, y1: Band, y2: Band, y3: Band) -> Band {
  return Band(acc.q0 + mix4(a, y0.q0, y1.q0, y2.q0, y3.q0), acc.q1 + mix4(a, y0.q1, y1.q1, y2.q1, y3.q1),
              acc.q2 + mix4(a, y0.q2, y1.q2, y2.q2, y3.q2), acc.q3 + mix4(a, y0.q3, y1.q3, y2.q3, y3.q3),
              acc.q4 + mix4(a, y0.q4, y1.q4, y2.q4, y3.q4), acc.q5 + mix4(a, y0.q5, y1.q5, y2.q5, y3.q5),
              acc.q6 + mix4(a, y0.q6, y1.q6, y2.q6, y3.q6), acc.q7 + mix4(a, y0.q7, y1.q7, y2.q7, y3.q7));
}

// One weight row of the quad's band: each lane loads its 8 channels (two vec4s at vec4
// index `at`), and every lane receives all 32.
fn weight_band(at: u32) -> Band {
  let lo = wv[at];
  let hi = wv[at + 1u];
  return Band(quadBroadcast(lo, 0u), quadBroadcast(hi, 0u), quadBroadcast(lo, 1u), quadBroadcast(hi, 1u),
              quadBroadcast(lo, 2u), quadBroadcast(hi, 2u), quadBroadcast(lo, 3u), quadBroadcast(hi, 3u));
}

// One K step (4 channels) of every pixel: its inputs xs against the band's four weight rows.
fn step_band(t: ptr<function, BandTile>, xs: Inputs, y0: Band, y1: Band, y2: Band, y3: Band) {
  (*t).r0 = mix_band((*t).r0, xs.x0, y0, y1, y2, y3); (*t).r1 = mix_band((*t).r1, xs.x1, y0, y1, y2, y3);
  (*t).r2 = mix_band((*t).r2, xs.x2, y0, y1, y2, y3); (*t).r3 = mix_band((*t).r3, xs.x3, y0, y1, y2, y3);
  (*t).r4 = mix_band((*t).r4, xs.x4, y0, y1, y2, y3); (*t).r5 = mix_band((*t).r5, xs.x5, y0, y1, y2, y3);
  (*t).r6 = mix_band((*t).r6, xs.x6, y0, y1, y2, y3); (*t).r7 = mix_band((*t).r7, xs.x7, y0, y1, y2, y3);
}

// Pixel j's band of the tile.
fn row_of(t: ptr<function, BandTile>, j: u32) -> Band {
  switch j {
    case 0u: { return (*t).r0; }
    case 1u: { return (*t).r1; }
    case 2u: { return (*t).r2; }
    case 3u: { return (*t).r3; }
    case 4u: { return (*t).r4; }
    case 5u: { return (*t).r5; }
    case 6u: { return (*t).r6; }
    default: { return (*t).r7; }
  }
}

// The band's biases, output channels from vec4 index c4 on.
fn bias_band(c4: u32) -> Band {
  return Band(epi_bias4(c4), epi_bias4(c4 + 1u), epi_bias4(c4 + 2u), epi_bias4(c4 + 3u),
              epi_bias4(c4 + 4u), epi_bias4(c4 + 5u), epi_bias4(c4 + 6u), epi_bias4(c4 + 7u));
}

// Pixel `row` of the output (vec4 index `o` of its band's first channel) through the
// epilogue with the band's biases b; past the last: dropped.
fn store_band(o: u32, row: u32, rows: u32, v: Band, b: Band) {
  if (row >= rows) { return; }
  outv[o] = epilogue4(v.q0, b.q0); outv[o + 1u] = epilogue4(v.q1, b.q1);
  outv[o + 2u] = epilogue4(v.q2, b.q2); outv[o + 3u] = epilogue4(v.q3, b.q3);
  outv[o + 4u] = epilogue4(v.q4, b.q4); outv[o + 5u] = epilogue4(v.q5, b.q5);
  outv[o + 6u] = epilogue4(v.q6, b.q6); outv[o + 7u] = epilogue4(v.q7, b.q7);
}

@compute @workgroup_size(WG)
fn forward_band(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let rows = params.n * params.ho * params.wo;
  let quad = tile_index(lid, wid, nwg) / 4u;
  // tiles_n = bands per group; WG is a multiple of 4, so whole quads leave together.
  if (quad >= ((rows + 31u) / 32u) * params.tiles_n) { return; }
  let lane = lid & 3u;
  let row0 = (quad / params.tiles_n) * 32u + lane * 8u;
  let g = wid.y;
  let band0 = g * params.cog + (quad % params.tiles_n) * 32u;
  let r0 = fwd_row(min(row0, rows - 1u), g);
  let r1 = next_row(r0, row0 + 1u < rows); let r2 = next_row(r1, row0 + 2u < rows);
  let r3 = next_row(r2, row0 + 3u < rows); let r4 = next_row(r3, row0 + 4u < rows);
  let r5 = next_row(r4, row0 + 5u < rows); let r6 = next_row(r5, row0 + 6u < rows);
  let r7 = next_row(r6, row0 + 7u < rows);
  let p0 = r0.p / 4u; let p1 = r1.p / 4u; let p2 = r2.p / 4u; let p3 = r3.p / 4u;
  let p4 = r4.p / 4u; let p5 = r5.p / 4u; let p6 = r6.p / 4u; let p7 = r7.p / 4u;
  let c4 = params.cout / 4u;
  // This lane's two vec4s of the band.
  let lane_cols = (band0 + lane * 8u) / 4u;

  let z = zero_band();
  var acc = BandTile(z, z, z, z, z, z, z, z);
  // The K walk of `forward`: one flat loop over (ky, kx, ci) in steps of 4 channels.
  let krows = params.kh * params.kw * params.cig;
  let steps = k_steps();
  var walk = KWalk(0u, 0u, 0u);
  for (var k = 0u; k < krows; k += 4u) {
    let o = (walk.tap + walk.ci) / 4u;
    let xs = Inputs(xv[p0 + o], xv[p1 + o], xv[p2 + o], xv[p3 + o], xv[p4 + o], xv[p5 + o], xv[p6 + o], xv[p7 + o]);
    let r = k * c4 + lane_cols;
    step_band(&acc, xs, weight_band(r), weight_band(r + c4), weight_band(r + 2u * c4), weight_band(r + 3u * c4));
    walk = k_next(walk, 4u, steps);
  }
  let ob = (row0 * params.cout + band0) / 4u;
  let b = bias_band(band0 / 4u);
  // A loop, not eight calls: the epilogue's activation is then compiled once, not 64 times
  // (a band pipeline's build time is what a first call waits for).
  for (var j = 0u; j < 8u; j++) {
    store_band(ob + j * c4, row0 + j, rows, row_of(&acc, j), b);
  }
}

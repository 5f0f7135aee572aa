enable subgroups;
// The four lanes of a quad always agree on their row tile (the host sends only grids of
// whole quads per row tile), which is what quadBroadcast needs; the analysis only knows
// workgroup-wide uniformity.
diagnostic(off, subgroup_uniformity);

// The direct forward with its input rows shared across a quad. This file is appended to
// shaders/conv2d.wgsl (src/ops/conv2d/direct.ts joins them): Params, bindings, fwd_row,
// next_row, KWalk, mix4, tile_row and store_tile_row are that file's, and so is the
// contract of `forward` (zero-padded x, VEC_K loads, an 8×8 register tile per invocation).
//
// WHY: neighbouring invocations of `forward` own neighbouring column tiles of one row tile,
// so when the column tiles per group come in fours (32, 64, … output channels per group)
// the four lanes of a SwiftShader quad (one 4-wide SIMD group) load the same eight input
// rows, each as its own gathers. Here each lane loads two of the eight and quadBroadcast
// hands the others over (an extract and a splat, no memory): per four reduction steps a
// lane makes 10 storage accesses instead of 16 (40 loaded lanes of vec4 components
// instead of 64), which also means fewer index clamps with Dawn's robustness on.

// The fused epilogue's biases (shaders/epilogue.wgsl, appended with act.wgsl; the store applies it).
@group(0) @binding(12) var<storage, read> epi_bias: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn forward_quad(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let rows = params.n * params.ho * params.wo;
  let t = tile_index(lid, wid, nwg);
  // tiles_n is a multiple of 4 and WG too, so whole quads leave together.
  if (t >= ((rows + 7u) / 8u) * params.tiles_n) { return; }
  let row0 = (t / params.tiles_n) * 8u;
  let col0 = (t % params.tiles_n) * 8u;
  let g = wid.y;
  // This lane's rows of the tile: 2·lane and 2·lane + 1 (past the last row: that row again).
  let lane = lid & 3u;
  let ra = fwd_row(min(row0 + 2u * lane, rows - 1u), g);
  let rb = next_row(ra, row0 + 2u * lane + 1u < rows);
  let pa = ra.p / 4u;
  let pb = rb.p / 4u;
  let gc = g * params.cog;
  let cv0 = (gc + col0) / 4u;
  let cv1 = cv0 + 1u;
  let c4 = params.cout / 4u;

  var acc0l = vec4<f32>(0.0); var acc0h = vec4<f32>(0.0);
  var acc1l = vec4<f32>(0.0); var acc1h = vec4<f32>(0.0);
  var acc2l = vec4<f32>(0.0); var acc2h = vec4<f32>(0.0);
  var acc3l = vec4<f32>(0.0); var acc3h = vec4<f32>(0.0);
  var acc4l = vec4<f32>(0.0); var acc4h = vec4<f32>(0.0);
  var acc5l = vec4<f32>(0.0); var acc5h = vec4<f32>(0.0);
  var acc6l = vec4<f32>(0.0); var acc6h = vec4<f32>(0.0);
  var acc7l = vec4<f32>(0.0); var acc7h = vec4<f32>(0.0);
  // The K walk of `forward`: one flat loop over (ky, kx, ci) in steps of 4 channels.
  let krows = params.kh * params.kw * params.cig;
  let steps = k_steps();
  var walk = KWalk(0u, 0u, 0u);
  for (var k = 0u; k < krows; k += 4u) {
    let o = (walk.tap + walk.ci) / 4u;
    let xa = xv[pa + o];
    let xb = xv[pb + o];
    let x0 = quadBroadcast(xa, 0u); let x1 = quadBroadcast(xb, 0u);
    let x2 = quadBroadcast(xa, 1u); let x3 = quadBroadcast(xb, 1u);
    let x4 = quadBroadcast(xa, 2u); let x5 = quadBroadcast(xb, 2u);
    let x6 = quadBroadcast(xa, 3u); let x7 = quadBroadcast(xb, 3u);
    let r = k * c4;
    let y0l = wv[r + cv0]; let y1l = wv[r + c4 + cv0]; let y2l = wv[r + 2u * c4 + cv0]; let y3l = wv[r + 3u * c4 + cv0];
    acc0l += mix4(x0, y0l, y1l, y2l, y3l); acc1l += mix4(x1, y0l, y1l, y2l, y3l);
    acc2l += mix4(x2, y0l, y1l, y2l, y3l); acc3l += mix4(x3, y0l, y1l, y2l, y3l);
    acc4l += mix4(x4, y0l, y1l, y2l, y3l); acc5l += mix4(x5, y0l, y1l, y2l, y3l);
    acc6l += mix4(x6, y0l, y1l, y2l, y3l); acc7l += mix4(x7, y0l, y1l, y2l, y3l);
    let y0h = wv[r + cv1]; let y1h = wv[r + c4 + cv1]; let y2h = wv[r + 2u * c4 + cv1]; let y3h = wv[r + 3u * c4 + cv1];
    acc0h += mix4(x0, y0h, y1h, y2h, y3h); acc1h += mix4(x1, y0h, y1h, y2h, y3h);
    acc2h += mix4(x2, y0h, y1h, y2h, y3h); acc3h += mix4(x3, y0h, y1h, y2h, y3h);
    acc4h += mix4(x4, y0h, y1h, y2h, y3h); acc5h += mix4(x5, y0h, y1h, y2h, y3h);
    acc6h += mix4(x6, y0h, y1h, y2h, y3h); acc7h += mix4(x7, y0h, y1h, y2h, y3h);
    walk = k_next(walk, 4u, steps);
  }
  let ob = row0 * params.cout + gc + col0;
  let bl = epi_bias4(cv0);
  let bh = epi_bias4(cv1);
  // A loop, not eight calls: the epilogue's activation is compiled once (build time).
  for (var j = 0u; j < 8u; j++) {
    let r = tile_row(j, acc0l, acc0h, acc1l, acc1h, acc2l, acc2h, acc3l, acc3h, acc4l, acc4h, acc5l, acc5h, acc6l, acc6h, acc7l, acc7h);
    store_tile_row(ob, row0, j, rows, col0, epilogue4(r.lo, bl), epilogue4(r.hi, bh));
  }
}

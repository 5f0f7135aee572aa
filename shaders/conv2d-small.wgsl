// Direct 2-D convolution for ungrouped convs with few input channels (stems: 1–4
// channels), NHWC activations, HWIO weights [kh, kw, cin, cout] (groups = 1), cout a
// multiple of 4 (weights and outputs move as vec4s):
//   out[b, oh, ow, co] = Σ_ky,kx,ci x[b, oh·sh − pt + ky·dh, ow·sw − pl + kx·dw, ci] · w[ky, kx, ci, co]
// With a K of a few taps, the cost is not the multiply-adds. An invocation keeps a PX × 8
// register tile: PX neighbouring output columns of one output row × 8 contiguous output
// channels, whose weights per tap are two vec4 loads and whose outputs per column two vec4
// stores. The channel block is the slowest index of the grid, so the lanes of a workgroup
// read the same weights.
// The taps are one flat loop over (ky, kx, ci) — the weights' own order — not three nested
// ones: on SwiftShader each entry into a loop costs about as much as a loop's work here
// (32×28²×1→16: nested ky/ci/kx loops with columns slid from tap to tap 8.5 ms, one flat
// loop with PX column loads per tap 3.4 ms). Padding is handled where a column is read —
// a clamped in-bounds address and a select, never a multiply by a masked value (0·inf =
// NaN) — so no padded copy of the input is made and robustness-off mode stays safe.

struct Params {
  n: u32, h: u32, w: u32, cin: u32,
  ho: u32, wo: u32, cout: u32, cblocks: u32,  // cblocks: 8-channel blocks, ceil(cout / 8)
  sh: u32, sw: u32, dh: u32, dw: u32,
  pt: i32, pl: i32,
  blocks: u32,  // column blocks per output row: ceil(wo / PX)
  q: u32,       // vec4s per output pixel: cout / 4
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;

override WG: u32 = 64u;
override KH: u32 = 3u;
override KW: u32 = 3u;
// Output columns per invocation: 4 or 8 (named accumulators a0..a7, b0..b7).
override PX: u32 = 4u;

// Channel ci of column `col` of the row starting at element `row`; zero outside the input
// (row_in: the row itself lies inside).
fn load_x(row: u32, col: i32, ci: u32, row_in: bool) -> f32 {
  let inside = row_in && col >= 0 && col < i32(params.w);
  let v = x[row + u32(clamp(col, 0, i32(params.w) - 1)) * params.cin + ci];
  return select(0.0, v, inside);
}

// Where tap (ky, kx, ci) of image b reads, for an output block whose first tap sits at
// input row ih0, column iw0: the start of the (clamped) input row, whether that row lies
// inside, the first column and the channel.
struct TapAt { row: u32, row_in: bool, iw: i32, ci: u32 }

fn tap_at(tap: u32, b: u32, ih0: i32, iw0: i32) -> TapAt {
  let ci = tap % params.cin;
  let kx = (tap / params.cin) % KW;
  let ky = tap / (params.cin * KW);
  let ih = ih0 + i32(ky * params.dh);
  let row = (b * params.h + u32(clamp(ih, 0, i32(params.h) - 1))) * params.w * params.cin;
  return TapAt(row, ih >= 0 && ih < i32(params.h), iw0 + i32(kx * params.dw), ci);
}

// The output vec4s of column ow (pixel `pixel`): channels 8·cb … +3 (v) and +4 … +7 (u,
// absent when cout = 8·cb + 4).
fn store(pixel: u32, ow: u32, cb: u32, v: vec4<f32>, u: vec4<f32>) {
  if (ow >= params.wo) { return; }
  let o = pixel * params.q + 2u * cb;
  out[o] = v;
  if (2u * cb + 1u < params.q) { out[o + 1u] = u; }
}

@compute @workgroup_size(WG)
fn forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  let per_block = params.n * params.ho * params.blocks;  // invocations per channel block
  if (t >= per_block * params.cblocks) { return; }
  let cb = t / per_block;
  let r = t % per_block;
  let blk = r % params.blocks;
  let row_o = r / params.blocks;           // b·ho + oh
  let oh = row_o % params.ho;
  let b = row_o / params.ho;
  let ow0 = blk * PX;
  // The block's second vec4 is past cout when cout = 8·cb + 4: it reads the first again (dropped at the store).
  let v1 = select(2u * cb, 2u * cb + 1u, 2u * cb + 1u < params.q);
  let sw = i32(params.sw);
  // Column j's channels 8·cb … +3 in aj, +4 … +7 in bj.
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  var a4 = vec4<f32>(0.0); var a5 = vec4<f32>(0.0); var a6 = vec4<f32>(0.0); var a7 = vec4<f32>(0.0);
  var b0 = vec4<f32>(0.0); var b1 = vec4<f32>(0.0); var b2 = vec4<f32>(0.0); var b3 = vec4<f32>(0.0);
  var b4 = vec4<f32>(0.0); var b5 = vec4<f32>(0.0); var b6 = vec4<f32>(0.0); var b7 = vec4<f32>(0.0);
  let ih0 = i32(oh * params.sh) - params.pt;
  let iw0 = i32(ow0 * params.sw) - params.pl;
  let taps = KH * KW * params.cin;
  for (var tap = 0u; tap < taps; tap++) {
    let at = tap_at(tap, b, ih0, iw0);
    let row = at.row; let iw = at.iw; let ci = at.ci; let row_in = at.row_in;
    let x0 = load_x(row, iw, ci, row_in); let x1 = load_x(row, iw + sw, ci, row_in);
    let x2 = load_x(row, iw + 2 * sw, ci, row_in); let x3 = load_x(row, iw + 3 * sw, ci, row_in);
    let f = wt[tap * params.q + 2u * cb];
    let g = wt[tap * params.q + v1];
    a0 += x0 * f; a1 += x1 * f; a2 += x2 * f; a3 += x3 * f;
    b0 += x0 * g; b1 += x1 * g; b2 += x2 * g; b3 += x3 * g;
    if (PX == 8u) {
      let x4 = load_x(row, iw + 4 * sw, ci, row_in); let x5 = load_x(row, iw + 5 * sw, ci, row_in);
      let x6 = load_x(row, iw + 6 * sw, ci, row_in); let x7 = load_x(row, iw + 7 * sw, ci, row_in);
      a4 += x4 * f; a5 += x5 * f; a6 += x6 * f; a7 += x7 * f;
      b4 += x4 * g; b5 += x5 * g; b6 += x6 * g; b7 += x7 * g;
    }
  }
  let p = row_o * params.wo + ow0;
  store(p, ow0, cb, a0, b0); store(p + 1u, ow0 + 1u, cb, a1, b1);
  store(p + 2u, ow0 + 2u, cb, a2, b2); store(p + 3u, ow0 + 3u, cb, a3, b3);
  if (PX == 8u) {
    store(p + 4u, ow0 + 4u, cb, a4, b4); store(p + 5u, ow0 + 5u, cb, a5, b5);
    store(p + 6u, ow0 + 6u, cb, a6, b6); store(p + 7u, ow0 + 7u, cb, a7, b7);
  }
}

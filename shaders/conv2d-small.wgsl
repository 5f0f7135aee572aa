// Direct 2-D convolution for ungrouped convs with few input channels (stems: 1–4
// channels), NHWC activations, HWIO weights [kh, kw, cin, cout] (groups = 1):
//   out[b, oh, ow, co] = Σ_ky,kx,ci x[b, oh·sh − pt + ky·dh, ow·sw − pl + kx·dw, ci] · w[ky, kx, ci, co]
// With a K of a few taps, loads (not multiply-adds) are the cost, so an invocation keeps
// a PX × 8 register tile: PX neighbouring output columns of one output row × 8 output
// channels, cl + k·lanes_c for k < 8 (cl = t mod lanes_c, lanes_c = ceil(cout / 8);
// neighbouring invocations read neighbouring weights and store neighbouring outputs). Per
// tap row and input channel it loads PX input columns once and, when stride = dilation
// (SLIDE), slides them one column per tap (one load per further tap, not PX), so a 3×3
// stride-1 conv costs PX + 2 column loads and 24 weight loads for 24 · PX multiply-adds. Taps are override constants (KH × KW: fixed-trip loops); padding is
// handled where a column is read — a clamped in-bounds address and a select, never a
// multiply by a masked value (0·inf = NaN) — so no padded copy of the input is made and
// robustness-off mode stays safe.

struct Params {
  n: u32, h: u32, w: u32, cin: u32,
  ho: u32, wo: u32, cout: u32, lanes_c: u32,
  sh: u32, sw: u32, dh: u32, dw: u32,
  pt: i32, pl: i32,
  blocks: u32,  // column blocks per output row: ceil(wo / PX)
  pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 64u;
override KH: u32 = 3u;
override KW: u32 = 3u;
// Output columns per invocation: 4 or 8 (named accumulators a0..a7).
override PX: u32 = 4u;
// sw == dw: column j at tap kx + 1 is column j + 1 at tap kx, so a row of taps slides one
// window of PX + KW − 1 loaded columns instead of loading PX columns per tap.
override SLIDE: bool = false;

// Tap (ky, kx, ci) of four of the invocation's channels (row r of w); channels past cout read the last
// one (dropped at the store).
fn load_w(r: u32, cs: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(wt[r + cs.x], wt[r + cs.y], wt[r + cs.z], wt[r + cs.w]);
}

// Channel ci of column `col` of the row starting at element `row`; zero outside the input.
fn load_x(row: u32, col: i32, ci: u32) -> f32 {
  let inside = col >= 0 && col < i32(params.w);
  let v = x[row + u32(clamp(col, 0, i32(params.w) - 1)) * params.cin + ci];
  return select(0.0, v, inside);
}

fn store(pixel: u32, ow: u32, c: vec4<u32>, v: vec4<f32>) {
  if (ow >= params.wo) { return; }
  let o = pixel * params.cout;
  if (c.w < params.cout) {
    out[o + c.x] = v.x; out[o + c.y] = v.y; out[o + c.z] = v.z; out[o + c.w] = v.w;
    return;
  }
  for (var k = 0u; k < 4u; k++) {
    if (c[k] < params.cout) { out[o + c[k]] = v[k]; }
  }
}

// PX columns of one input row, named (a function-local array indexed at run time would
// live in memory).
struct Cols { v0: f32, v1: f32, v2: f32, v3: f32, v4: f32, v5: f32, v6: f32, v7: f32 }

// Columns iw, iw + step, … (PX of them) of channel ci of the row at `row`.
fn load_cols(row: u32, iw: i32, step: i32, ci: u32) -> Cols {
  var c = Cols(load_x(row, iw, ci), load_x(row, iw + step, ci), load_x(row, iw + 2 * step, ci), load_x(row, iw + 3 * step, ci), 0.0, 0.0, 0.0, 0.0);
  if (PX == 8u) {
    c.v4 = load_x(row, iw + 4 * step, ci); c.v5 = load_x(row, iw + 5 * step, ci);
    c.v6 = load_x(row, iw + 6 * step, ci); c.v7 = load_x(row, iw + 7 * step, ci);
  }
  return c;
}

// The window one column to the right: v gets v + 1 and the last column is `next`.
fn slide(c: Cols, next: f32) -> Cols {
  if (PX == 8u) { return Cols(c.v1, c.v2, c.v3, c.v4, c.v5, c.v6, c.v7, next); }
  return Cols(c.v1, c.v2, c.v3, next, 0.0, 0.0, 0.0, 0.0);
}

// The PX columns × 8 channels of one invocation: channels c in a*, d in b*.
struct Acc {
  a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>, a4: vec4<f32>, a5: vec4<f32>, a6: vec4<f32>, a7: vec4<f32>,
  b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>, b4: vec4<f32>, b5: vec4<f32>, b6: vec4<f32>, b7: vec4<f32>,
}

// acc + c ⊗ (f, g): every column times the tap's channels.
fn fma_cols(acc: Acc, c: Cols, f: vec4<f32>, g: vec4<f32>) -> Acc {
  var r = acc;
  r.a0 += c.v0 * f; r.a1 += c.v1 * f; r.a2 += c.v2 * f; r.a3 += c.v3 * f;
  if (PX == 8u) { r.a4 += c.v4 * f; r.a5 += c.v5 * f; r.a6 += c.v6 * f; r.a7 += c.v7 * f; }
  r.b0 += c.v0 * g; r.b1 += c.v1 * g; r.b2 += c.v2 * g; r.b3 += c.v3 * g;
  if (PX == 8u) { r.b4 += c.v4 * g; r.b5 += c.v5 * g; r.b6 += c.v6 * g; r.b7 += c.v7 * g; }
  return r;
}

@compute @workgroup_size(WG)
fn forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  if (t >= params.n * params.ho * params.blocks * params.lanes_c) { return; }
  let cl = t % params.lanes_c;
  let r = t / params.lanes_c;
  let blk = r % params.blocks;
  let row_o = r / params.blocks;           // b·ho + oh
  let oh = row_o % params.ho;
  let b = row_o / params.ho;
  let ow0 = blk * PX;
  // Channels cl + k·lanes_c, k < 8: the first four in c, the next four in d.
  let lc = params.lanes_c;
  let c = vec4<u32>(cl) + vec4<u32>(0u, 1u, 2u, 3u) * lc;
  let d = c + vec4<u32>(4u * lc);
  let last = vec4<u32>(params.cout - 1u);
  let cs = min(c, last);
  let ds = min(d, last);
  let sw = i32(params.sw);
  var acc = Acc(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0),
                vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  for (var ky = 0u; ky < KH; ky++) {
    let ih = i32(oh * params.sh + ky * params.dh) - params.pt;
    if (ih < 0 || ih >= i32(params.h)) { continue; }
    let row = (b * params.h + u32(ih)) * params.w * params.cin;
    let iw0 = i32(ow0 * params.sw) - params.pl;
    for (var ci = 0u; ci < params.cin; ci++) {
      var cols = load_cols(row, iw0, sw, ci);
      for (var kx = 0u; kx < KW; kx++) {
        let tap = ((ky * KW + kx) * params.cin + ci) * params.cout;
        acc = fma_cols(acc, cols, load_w(tap, cs), load_w(tap, ds));
        if (kx + 1u < KW) {
          if (SLIDE) {
            cols = slide(cols, load_x(row, iw0 + i32(PX) * sw + i32(kx * params.dw), ci));
          } else {
            cols = load_cols(row, iw0 + i32((kx + 1u) * params.dw), sw, ci);
          }
        }
      }
    }
  }
  let p = row_o * params.wo + ow0;
  store(p, ow0, c, acc.a0); store(p + 1u, ow0 + 1u, c, acc.a1);
  store(p + 2u, ow0 + 2u, c, acc.a2); store(p + 3u, ow0 + 3u, c, acc.a3);
  if (PX == 8u) {
    store(p + 4u, ow0 + 4u, c, acc.a4); store(p + 5u, ow0 + 5u, c, acc.a5);
    store(p + 6u, ow0 + 6u, c, acc.a6); store(p + 7u, ow0 + 7u, c, acc.a7);
  }
  store(p, ow0, d, acc.b0); store(p + 1u, ow0 + 1u, d, acc.b1);
  store(p + 2u, ow0 + 2u, d, acc.b2); store(p + 3u, ow0 + 3u, d, acc.b3);
  if (PX == 8u) {
    store(p + 4u, ow0 + 4u, d, acc.b4); store(p + 5u, ow0 + 5u, d, acc.b5);
    store(p + 6u, ow0 + 6u, d, acc.b6); store(p + 7u, ow0 + 7u, d, acc.b7);
  }
}

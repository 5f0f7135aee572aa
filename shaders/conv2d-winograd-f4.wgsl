// Winograd F(4×4, 3×3) for stride-1, undilated 3×3 convolutions (forward, dX through the
// flipped forward, and dW): each 4×4 block of outputs ("tile") costs 36 multiply-adds per
// channel pair instead of 144 — 2.25 per output against F(2×2, 3×3)'s 4 — from a 6×6 input
// patch. The same scheme as shaders/conv2d-winograd.wgsl, with 36 transform-domain
// positions ξ = 6·row + column:
//   V = Bᵀ·d·B,  U = G·g·Gᵀ,  M[ξ, g] = V[ξ, g]·U[ξ, g] (the GEMM core),  out = Aᵀ·M·A
// with the interpolation points 0, ±1, ±2 and ∞:
//
//   Bᵀ = | 4  0 -5  0  1  0 |   G = |  1/4     0     0  |   Aᵀ = | 1  1  1  1  1  0 |
//        | 0 -4 -4  1  1  0 |       | -1/6  -1/6  -1/6 |        | 0  1 -1  2 -2  0 |
//        | 0  4 -4 -1  1  0 |       | -1/6   1/6  -1/6 |        | 0  1  1  4  4  0 |
//        | 0 -2 -1  2  1  0 |       | 1/24  1/12   1/6 |        | 0  1 -1  8 -8  1 |
//        | 0  2 -1 -2  1  0 |       | 1/24 -1/12   1/6 |
//        | 0  4  0 -5  0  1 |       |   0     0     1  |
//
// The larger constants cost accuracy: in fp32 the outputs differ from a float64
// convolution by ~1e-6 of their magnitude (F(2×2): ~1e-7), well inside the conv tests'
// tolerances. dW is the exact gradient of the same algorithm (dy_transform and
// weight_grad_transform at the end of this file).
//
// Layouts: x is the input [n, h, w, cin], read through the padding (taps outside it read 0;
// no padded copy); the patches of the th × tw tiles cover rows −pt … 4·th + 1 − pt;
// V is [36, groups, tiles, cig], U and W̃ are [36, groups, cig, cog], M and DY are
// [36, groups, tiles, cog].

struct Params {
  n: u32, h: u32, w: u32, cin: u32,
  ho: u32, wo: u32, cout: u32, groups: u32,
  cig: u32, cog: u32, th: u32, tw: u32,
  pt: i32, pl: i32,       // top / left padding (negative: rows / columns cropped)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> xv: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read> mv: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> outv: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read> wv: array<vec4<f32>>;

override WG: u32 = 64u;

// Six values along one axis of a patch, each four channels wide.
struct Six { a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32>, e: vec4<f32>, f: vec4<f32> }
// Four outputs along one axis of a tile.
struct Four { a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32> }

// Bᵀ·(a … f)ᵀ.
fn bt(q: Six) -> Six {
  return Six(
    4.0 * q.a - 5.0 * q.c + q.e,
    q.d + q.e - 4.0 * (q.b + q.c),
    4.0 * (q.b - q.c) - q.d + q.e,
    2.0 * (q.d - q.b) - q.c + q.e,
    2.0 * (q.b - q.d) - q.c + q.e,
    4.0 * q.b - 5.0 * q.d + q.f,
  );
}

// Aᵀ·(a … f)ᵀ.
fn at(q: Six) -> Four {
  let s1 = q.b + q.c;
  let d1 = q.b - q.c;
  let s2 = q.d + q.e;
  let d2 = q.d - q.e;
  return Four(q.a + s1 + s2, d1 + 2.0 * d2, s1 + 4.0 * s2, d1 + 8.0 * d2 + q.f);
}

fn tiles() -> u32 { return params.n * params.th * params.tw; }

// A tile's image b and its top-left output pixel (y0, x0).
struct TileOrigin { b: u32, y0: u32, x0: u32 }

fn tile_origin(tile: u32) -> TileOrigin {
  return TileOrigin(tile / (params.tw * params.th), 4u * ((tile / params.tw) % params.th), 4u * (tile % params.tw));
}

// What a per-tile invocation works on: one tile and four channels of one group (channel
// quads fastest over t), with `channels` channels per group. c: the first of the four in
// the NHWC tensor; o: where its column of the transform domain starts in a
// [36, groups, tiles, channels] array whose ξ planes are `plane` vec4s apart.
struct Slot { tile: TileOrigin, c: u32, o: u32, plane: u32 }

// Invocations of a per-tile pass: one per (tile, group, channel quad).
fn slot_count(channels: u32) -> u32 { return tiles() * params.groups * (channels / 4u); }

fn slot_of(t: u32, channels: u32) -> Slot {
  let q = channels / 4u;
  let tile = t / (q * params.groups);
  let g = (t / q) % params.groups;
  let c = (t % q) * 4u;
  return Slot(tile_origin(tile), g * channels + c, ((g * tiles() + tile) * channels + c) / 4u, params.groups * tiles() * q);
}

// What a per-filter invocation works on: filters (ci, co … co + 3) of group g (quads of
// co fastest over t); base: where they start in a [36, groups, cig, cog] array whose ξ
// planes are `plane` vec4s apart.
struct FilterSlot { g: u32, ci: u32, co: u32, base: u32, plane: u32 }

// Invocations of a per-filter pass: one per (group, input channel, output channel quad).
fn filter_count() -> u32 { return params.groups * params.cig * (params.cog / 4u); }

fn filter_slot(t: u32) -> FilterSlot {
  let quads = params.cog / 4u;
  let co = (t % quads) * 4u;
  let ci = (t / quads) % params.cig;
  let g = t / (quads * params.cig);
  return FilterSlot(g, ci, co, ((g * params.cig + ci) * params.cog + co) / 4u, params.groups * params.cig * quads);
}

// Four channels from c0 of pixel (y, x) of image b, in padded coordinates: 0 in the padding.
fn pixel(b: u32, y: i32, x: i32, c0: u32) -> vec4<f32> {
  let sy = y - params.pt;
  let sx = x - params.pl;
  if (sy < 0 || sx < 0 || sy >= i32(params.h) || sx >= i32(params.w)) { return vec4<f32>(0.0); }
  return xv[(((b * params.h + u32(sy)) * params.w + u32(sx)) * params.cin + c0) / 4u];
}

// Row i of a tile's 6×6 input patch, four channels from c0, transformed ·B.
fn patch_row(t: TileOrigin, i: u32, c0: u32) -> Six {
  let y = i32(t.y0 + i);
  let x = i32(t.x0);
  return bt(Six(pixel(t.b, y, x, c0), pixel(t.b, y, x + 1, c0), pixel(t.b, y, x + 2, c0),
                pixel(t.b, y, x + 3, c0), pixel(t.b, y, x + 4, c0), pixel(t.b, y, x + 5, c0)));
}

// Store column j of the transform domain (rows 0..5 of the slot's V) into a
// [36, groups, tiles, channels] array whose ξ planes are `plane` vec4s apart.
fn store_column(o: u32, plane: u32, j: u32, v: Six) {
  outv[o + j * plane] = v.a;
  outv[o + (6u + j) * plane] = v.b;
  outv[o + (12u + j) * plane] = v.c;
  outv[o + (18u + j) * plane] = v.d;
  outv[o + (24u + j) * plane] = v.e;
  outv[o + (30u + j) * plane] = v.f;
}

@compute @workgroup_size(WG)
fn input_transform(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  if (t >= slot_count(params.cig)) { return; }
  let s = slot_of(t, params.cig);
  // Each row ·B, then Bᵀ· down each column.
  let r0 = patch_row(s.tile, 0u, s.c);
  let r1 = patch_row(s.tile, 1u, s.c);
  let r2 = patch_row(s.tile, 2u, s.c);
  let r3 = patch_row(s.tile, 3u, s.c);
  let r4 = patch_row(s.tile, 4u, s.c);
  let r5 = patch_row(s.tile, 5u, s.c);
  store_column(s.o, s.plane, 0u, bt(Six(r0.a, r1.a, r2.a, r3.a, r4.a, r5.a)));
  store_column(s.o, s.plane, 1u, bt(Six(r0.b, r1.b, r2.b, r3.b, r4.b, r5.b)));
  store_column(s.o, s.plane, 2u, bt(Six(r0.c, r1.c, r2.c, r3.c, r4.c, r5.c)));
  store_column(s.o, s.plane, 3u, bt(Six(r0.d, r1.d, r2.d, r3.d, r4.d, r5.d)));
  store_column(s.o, s.plane, 4u, bt(Six(r0.e, r1.e, r2.e, r3.e, r4.e, r5.e)));
  store_column(s.o, s.plane, 5u, bt(Six(r0.f, r1.f, r2.f, r3.f, r4.f, r5.f)));
}

// G·(a, b, c)ᵀ for one filter column or row: six values, four filters wide.
fn g6(a: vec4<f32>, b: vec4<f32>, c: vec4<f32>) -> Six {
  let e = a + c;
  return Six(0.25 * a, -(e + b) / 6.0, (b - e) / 6.0, a / 24.0 + b / 12.0 + c / 6.0, a / 24.0 - b / 12.0 + c / 6.0, c);
}

// FLIP: transform the filters of dX instead (src/ops/conv2d/stride-phase-dx.ts): the 180°-rotated
// filter with input and output channels swapped, read straight from the forward's weights,
// so dX needs no flipped copy of them. The params are then dX's own (cin = the forward's
// cout, cig = its cog, …).
override FLIP: bool = false;

// Tap t = 3·ky + kx of the slot's four filters.
fn filter_tap(t: u32, f: FilterSlot) -> vec4<f32> {
  if (!FLIP) {
    // HWIO [3, 3, cig, cout]: four output channels are adjacent.
    return wv[((t * params.cig + f.ci) * params.cout + f.g * params.cog + f.co) / 4u];
  }
  // The forward's HWIO [3, 3, cog, cin] (dX's output channels are its input channels),
  // rotated 180°: four dX output channels are `cin` apart.
  let o = ((8u - t) * params.cog + f.co) * params.cin + f.g * params.cig + f.ci;
  return vec4<f32>(wt[o], wt[o + params.cin], wt[o + 2u * params.cin], wt[o + 3u * params.cin]);
}

// Row r of a transformed filter (six values, four filters wide) into U[6·r + j, g, ci, co…co+3].
fn store_filter_row(f: FilterSlot, r: u32, u: Six) {
  let o = f.base + 6u * r * f.plane;
  let p = f.plane;
  outv[o] = u.a; outv[o + p] = u.b; outv[o + 2u * p] = u.c;
  outv[o + 3u * p] = u.d; outv[o + 4u * p] = u.e; outv[o + 5u * p] = u.f;
}

// U[ξ, g, ci, co] = (G·w·Gᵀ)[ξ], four output channels (co … co + 3) per invocation.
@compute @workgroup_size(WG)
fn weight_transform(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  if (t >= filter_count()) { return; }
  let f = filter_slot(t);
  // G·w: each filter column (three taps down ky) becomes six rows.
  let k0 = g6(filter_tap(0u, f), filter_tap(3u, f), filter_tap(6u, f));
  let k1 = g6(filter_tap(1u, f), filter_tap(4u, f), filter_tap(7u, f));
  let k2 = g6(filter_tap(2u, f), filter_tap(5u, f), filter_tap(8u, f));
  // (G·w)·Gᵀ: row r of the result is G applied to row r of G·w.
  store_filter_row(f, 0u, g6(k0.a, k1.a, k2.a));
  store_filter_row(f, 1u, g6(k0.b, k1.b, k2.b));
  store_filter_row(f, 2u, g6(k0.c, k1.c, k2.c));
  store_filter_row(f, 3u, g6(k0.d, k1.d, k2.d));
  store_filter_row(f, 4u, g6(k0.e, k1.e, k2.e));
  store_filter_row(f, 5u, g6(k0.f, k1.f, k2.f));
}

// Column j of the slot's M (rows 0..5), ξ planes `plane` vec4s apart.
fn m_column(o: u32, plane: u32, j: u32) -> Six {
  return Six(mv[o + j * plane], mv[o + (6u + j) * plane], mv[o + (12u + j) * plane],
             mv[o + (18u + j) * plane], mv[o + (24u + j) * plane], mv[o + (30u + j) * plane]);
}

fn store4(o: u32, v: vec4<f32>) {
  out[o] = v.x; out[o + 1u] = v.y; out[o + 2u] = v.z; out[o + 3u] = v.w;
}

// Output row i of a tile: four pixels; pixels past wo (and rows past ho) are dropped.
fn store_row(t: TileOrigin, i: u32, c: u32, v: Four) {
  let y = t.y0 + i;
  if (y >= params.ho) { return; }
  let o = ((t.b * params.ho + y) * params.wo + t.x0) * params.cout + c;
  store4(o, v.a);
  if (t.x0 + 1u < params.wo) { store4(o + params.cout, v.b); }
  if (t.x0 + 2u < params.wo) { store4(o + 2u * params.cout, v.c); }
  if (t.x0 + 3u < params.wo) { store4(o + 3u * params.cout, v.d); }
}

// out[b, 4·ty + i, 4·tx + j, g·cog + c] = (Aᵀ·M·A)[i, j].
@compute @workgroup_size(WG)
fn output_transform(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  if (t >= slot_count(params.cog)) { return; }
  let s = slot_of(t, params.cog);
  // Aᵀ· down each column (six rows → four), then each row ·A.
  let c0 = at(m_column(s.o, s.plane, 0u));
  let c1 = at(m_column(s.o, s.plane, 1u));
  let c2 = at(m_column(s.o, s.plane, 2u));
  let c3 = at(m_column(s.o, s.plane, 3u));
  let c4 = at(m_column(s.o, s.plane, 4u));
  let c5 = at(m_column(s.o, s.plane, 5u));
  store_row(s.tile, 0u, s.c, at(Six(c0.a, c1.a, c2.a, c3.a, c4.a, c5.a)));
  store_row(s.tile, 1u, s.c, at(Six(c0.b, c1.b, c2.b, c3.b, c4.b, c5.b)));
  store_row(s.tile, 2u, s.c, at(Six(c0.c, c1.c, c2.c, c3.c, c4.c, c5.c)));
  store_row(s.tile, 3u, s.c, at(Six(c0.d, c1.d, c2.d, c3.d, c4.d, c5.d)));
}

// ---- dW: the exact gradient of the F(4×4) forward ----
// Per tile dU = (A·dy·Aᵀ) ⊙ V, so dW = Gᵀ·(Σ over tiles dU)·G, and the sum over tiles for
// every (ci, co) is one GEMM per ξ: W̃[ξ, g] = V[ξ, g]ᵀ · DY[ξ, g]  [cig × tiles]·[tiles × cog].

// A·(p, q, r, s)ᵀ: six transform-domain values from four outputs (the adjoint of `at`).
fn a6(q: Four) -> Six {
  let s1 = q.a + q.c;
  let d1 = q.b + q.d;
  return Six(q.a, s1 + d1, s1 - d1, q.a + 2.0 * q.b + 4.0 * q.c + 8.0 * q.d, q.a - 2.0 * q.b + 4.0 * q.c - 8.0 * q.d, q.d);
}

fn dy_at(b: u32, y: u32, x: u32, c: u32) -> vec4<f32> {
  if (y >= params.ho || x >= params.wo) { return vec4<f32>(0.0); }   // outputs the forward dropped
  return mv[(((b * params.ho + y) * params.wo + x) * params.cout + c) / 4u];
}

// Row i of a tile's 4×4 block of dy, transformed ·Aᵀ (four values → six).
fn dy_row(t: TileOrigin, i: u32, c: u32) -> Six {
  let y = t.y0 + i;
  return a6(Four(dy_at(t.b, y, t.x0, c), dy_at(t.b, y, t.x0 + 1u, c), dy_at(t.b, y, t.x0 + 2u, c), dy_at(t.b, y, t.x0 + 3u, c)));
}

// DY[ξ, g, tile, c] = (A·dy·Aᵀ)[ξ] for each tile's 4×4 block of dy (mv = dy here).
@compute @workgroup_size(WG)
fn dy_transform(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  if (t >= slot_count(params.cog)) { return; }
  let s = slot_of(t, params.cog);
  let r0 = dy_row(s.tile, 0u, s.c);
  let r1 = dy_row(s.tile, 1u, s.c);
  let r2 = dy_row(s.tile, 2u, s.c);
  let r3 = dy_row(s.tile, 3u, s.c);
  // A· down each column (four rows → six).
  store_column(s.o, s.plane, 0u, a6(Four(r0.a, r1.a, r2.a, r3.a)));
  store_column(s.o, s.plane, 1u, a6(Four(r0.b, r1.b, r2.b, r3.b)));
  store_column(s.o, s.plane, 2u, a6(Four(r0.c, r1.c, r2.c, r3.c)));
  store_column(s.o, s.plane, 3u, a6(Four(r0.d, r1.d, r2.d, r3.d)));
  store_column(s.o, s.plane, 4u, a6(Four(r0.e, r1.e, r2.e, r3.e)));
  store_column(s.o, s.plane, 5u, a6(Four(r0.f, r1.f, r2.f, r3.f)));
}

// Gᵀ·(v0 … v5)ᵀ: three filter taps from six transform-domain values (four filters wide).
fn gt3(v: Six) -> array<vec4<f32>, 3> {
  let s = v.b + v.c;
  let e = v.d + v.e;
  return array<vec4<f32>, 3>(0.25 * v.a - s / 6.0 + e / 24.0, (v.c - v.b) / 6.0 + (v.d - v.e) / 12.0, (e - s) / 6.0 + v.f);
}

// Row r of W̃ (ξ = 6·r + j, j = 0 … 5), four output channels wide (mv = W̃ here).
fn wgrad_row(f: FilterSlot, r: u32) -> Six {
  let o = f.base + 6u * r * f.plane;
  let p = f.plane;
  return Six(mv[o], mv[o + p], mv[o + 2u * p], mv[o + 3u * p], mv[o + 4u * p], mv[o + 5u * p]);
}

// Tap t of the slot's four filters into dW (HWIO, four output channels adjacent).
fn store_tap(t: u32, f: FilterSlot, v: vec4<f32>) {
  let o = (t * params.cig + f.ci) * params.cout + f.g * params.cog + f.co;
  out[o] = v.x; out[o + 1u] = v.y; out[o + 2u] = v.z; out[o + 3u] = v.w;
}

// dW[ky, kx, ci, g·cog + co … + 3] = (Gᵀ·W̃·G)[ky, kx] for W̃[ξ, g, ci, co], four filters per invocation.
@compute @workgroup_size(WG)
fn weight_grad_transform(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  if (t >= filter_count()) { return; }
  let f = filter_slot(t);
  // ·G within each row of W̃ (six → three), then Gᵀ· down the three columns.
  let h0 = gt3(wgrad_row(f, 0u));
  let h1 = gt3(wgrad_row(f, 1u));
  let h2 = gt3(wgrad_row(f, 2u));
  let h3 = gt3(wgrad_row(f, 3u));
  let h4 = gt3(wgrad_row(f, 4u));
  let h5 = gt3(wgrad_row(f, 5u));
  for (var kx = 0u; kx < 3u; kx++) {
    let k = gt3(Six(h0[kx], h1[kx], h2[kx], h3[kx], h4[kx], h5[kx]));
    store_tap(kx, f, k[0]);
    store_tap(3u + kx, f, k[1]);
    store_tap(6u + kx, f, k[2]);
  }
}

// Winograd F(2×2, 3×3) for stride-1, undilated 3×3 convolutions (forward, and dX, which is
// a stride-1 forward of dy): each 2×2 block of outputs ("tile") costs 16 multiply-adds
// per channel pair instead of 36. With V = Bᵀ·d·B (d: the tile's 4×4 input patch) and
// U = G·g·Gᵀ (g: a 3×3 filter), the tile's outputs are Aᵀ·(V ⊙ U)·A, and the sum over
// input channels of V ⊙ U is, for each of the 16 positions ξ, an ordinary GEMM:
//   M[ξ, g] = V[ξ, g] · U[ξ, g]    [tiles × cig] · [cig × cog]
// run by the GEMM core (src/ops/matmul.ts) batched over ξ and the groups. These three
// entry points are the transforms around it. Channels travel four at a time (vec4), so
// the host uses this path only when cin/groups and cout/groups are multiples of 4.
//
//   Bᵀ = | 1  0 -1  0 |     G = | 1    0    0  |     Aᵀ = | 1  1  1  0 |
//        | 0  1  1  0 |         | ½    ½    ½  |          | 0  1 -1 -1 |
//        | 0 -1  1  0 |         | ½   -½    ½  |
//        | 0  1  0 -1 |         | 0    0    1  |
//
// dW is the exact gradient of the same algorithm: per tile dU = (A·dy·Aᵀ) ⊙ V, and
// dW = Gᵀ·(Σ over tiles dU)·G, where the sum over tiles for every (ci, co) is again one
// GEMM per ξ: W̃[ξ, g] = V[ξ, g]ᵀ · DY[ξ, g]   [cig × tiles] · [tiles × cog].
//
// Layouts: x is the zero-padded input [n, h, w, cin] with h = 2·th + 2 and w = 2·tw + 2
// (th × tw tiles per image); V is [16, groups, tiles, cig], U is [16, groups, cig, cog],
// M and DY are [16, groups, tiles, cog], W̃ is [16, groups, cig, cog] (ξ = 4·row + column
// of the 4×4 transform domain).

struct Params {
  n: u32, h: u32, w: u32, cin: u32,
  ho: u32, wo: u32, cout: u32, groups: u32,
  cig: u32, cog: u32, th: u32, tw: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> xv: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read> mv: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> outv: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

override WG: u32 = 64u;

// Four transform-domain values, each four channels wide: one row (or column) of a tile.
struct Quad { a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32> }

fn quad_add(p: Quad, q: Quad) -> Quad { return Quad(p.a + q.a, p.b + q.b, p.c + q.c, p.d + q.d); }
fn quad_sub(p: Quad, q: Quad) -> Quad { return Quad(p.a - q.a, p.b - q.b, p.c - q.c, p.d - q.d); }

// Bᵀ·(a, b, c, d)ᵀ: applied to the rows of a patch it is Bᵀ·d, to one row it is (row)·B.
fn bt(q: Quad) -> Quad { return Quad(q.a - q.c, q.b + q.c, q.c - q.b, q.b - q.d); }

fn tiles() -> u32 { return params.n * params.th * params.tw; }

// The (tile, group, channel quad) of invocation t, channel quads fastest.
struct Slot { tile: u32, g: u32, c: u32 }

fn slot_of(t: u32, channels: u32) -> Slot {
  let q = channels / 4u;
  return Slot(t / (q * params.groups), (t / q) % params.groups, (t % q) * 4u);
}

// Row r (0..3) of the 4×4 input patch at tile (b, ty, tx), four channels from `c0`.
fn patch_row(b: u32, y: u32, x0: u32, c0: u32) -> Quad {
  let o = ((b * params.h + y) * params.w + x0) * params.cin + c0;
  let s = params.cin;
  return Quad(xv[o / 4u], xv[(o + s) / 4u], xv[(o + 2u * s) / 4u], xv[(o + 3u * s) / 4u]);
}

// Store one slot's 16 transform-domain values (rows v0..v3, ξ = 4·row + column) into a
// [16, groups, tiles, channels] array: consecutive ξ are `plane` vec4s apart.
fn store_domain(s: Slot, channels: u32, v0: Quad, v1: Quad, v2: Quad, v3: Quad) {
  let plane = params.groups * tiles() * channels / 4u;
  var o = ((s.g * tiles() + s.tile) * channels + s.c) / 4u;
  outv[o] = v0.a; o += plane; outv[o] = v0.b; o += plane; outv[o] = v0.c; o += plane; outv[o] = v0.d; o += plane;
  outv[o] = v1.a; o += plane; outv[o] = v1.b; o += plane; outv[o] = v1.c; o += plane; outv[o] = v1.d; o += plane;
  outv[o] = v2.a; o += plane; outv[o] = v2.b; o += plane; outv[o] = v2.c; o += plane; outv[o] = v2.d; o += plane;
  outv[o] = v3.a; o += plane; outv[o] = v3.b; o += plane; outv[o] = v3.c; o += plane; outv[o] = v3.d;
}

// Image b and tile row/column (ty, tx) of a tile index.
fn tile_pos(tile: u32) -> vec3<u32> {
  return vec3<u32>(tile / (params.tw * params.th), (tile / params.tw) % params.th, tile % params.tw);
}

@compute @workgroup_size(WG)
fn input_transform(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  if (t >= tiles() * params.groups * (params.cig / 4u)) { return; }
  let s = slot_of(t, params.cig);
  let pos = tile_pos(s.tile);
  let b = pos.x;
  let ty = pos.y;
  let tx = pos.z;
  let c0 = s.g * params.cig + s.c;
  let r0 = patch_row(b, 2u * ty, 2u * tx, c0);
  let r1 = patch_row(b, 2u * ty + 1u, 2u * tx, c0);
  let r2 = patch_row(b, 2u * ty + 2u, 2u * tx, c0);
  let r3 = patch_row(b, 2u * ty + 3u, 2u * tx, c0);
  // Bᵀ·d (rows), then each row ·B.
  let v0 = bt(quad_sub(r0, r2));
  let v1 = bt(quad_add(r1, r2));
  let v2 = bt(quad_sub(r2, r1));
  let v3 = bt(quad_sub(r1, r3));
  // V[ξ, g, tile, c]: consecutive ξ are `plane` vec4s apart.
  store_domain(s, params.cig, v0, v1, v2, v3);
}

// G·(a, b, c)ᵀ for one filter column or row.
fn gt(a: f32, b: f32, c: f32) -> vec4<f32> {
  return vec4<f32>(a, 0.5 * (a + b + c), 0.5 * (a - b + c), c);
}

// U[ξ, g, ci, co] = (G·w·Gᵀ)[ξ] for w[ky, kx, ci, g·cog + co] (HWIO), one filter per invocation.
@compute @workgroup_size(WG)
fn weight_transform(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  if (t >= params.groups * params.cig * params.cog) { return; }
  let co = t % params.cog;
  let ci = (t / params.cog) % params.cig;
  let g = t / (params.cog * params.cig);
  let tap = params.cig * params.cout;   // stride between (ky, kx) taps
  let o = ci * params.cout + g * params.cog + co;
  // G·w: the three filter rows become four rows (each a vec3 over kx, kept as three vec4 columns).
  let c0 = gt(wt[o], wt[o + 3u * tap], wt[o + 6u * tap]);
  let c1 = gt(wt[o + tap], wt[o + 4u * tap], wt[o + 7u * tap]);
  let c2 = gt(wt[o + 2u * tap], wt[o + 5u * tap], wt[o + 8u * tap]);
  // (G·w)·Gᵀ: row r of the result is G applied to row r of G·w.
  let u0 = gt(c0.x, c1.x, c2.x);
  let u1 = gt(c0.y, c1.y, c2.y);
  let u2 = gt(c0.z, c1.z, c2.z);
  let u3 = gt(c0.w, c1.w, c2.w);
  let plane = params.groups * params.cig * params.cog;
  let base = (g * params.cig + ci) * params.cog + co;
  for (var j = 0u; j < 4u; j++) {
    out[base + j * plane] = u0[j];
    out[base + (4u + j) * plane] = u1[j];
    out[base + (8u + j) * plane] = u2[j];
    out[base + (12u + j) * plane] = u3[j];
  }
}

// Aᵀ·(a, b, c, d)ᵀ: two outputs from four transform-domain values.
fn at(q: Quad) -> array<vec4<f32>, 2> {
  return array<vec4<f32>, 2>(q.a + q.b + q.c, q.b - q.c - q.d);
}

fn m_row(o: u32, plane: u32) -> Quad {
  return Quad(mv[o], mv[o + plane], mv[o + 2u * plane], mv[o + 3u * plane]);
}

// out[b, 2·ty + i, 2·tx + j, g·cog + c] = (Aᵀ·M·A)[i, j]; outputs past ho / wo (odd sizes) are dropped.
@compute @workgroup_size(WG)
fn output_transform(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  if (t >= tiles() * params.groups * (params.cog / 4u)) { return; }
  let s = slot_of(t, params.cog);
  let plane = params.groups * tiles() * params.cog / 4u;
  let o = ((s.g * tiles() + s.tile) * params.cog + s.c) / 4u;
  let m0 = m_row(o, plane);
  let m1 = m_row(o + 4u * plane, plane);
  let m2 = m_row(o + 8u * plane, plane);
  let m3 = m_row(o + 12u * plane, plane);
  // Aᵀ·M (rows), then each row ·A.
  let y0 = at(quad_add(quad_add(m0, m1), m2));
  let y1 = at(quad_sub(quad_sub(m1, m2), m3));
  let pos = tile_pos(s.tile);
  let b = pos.x;
  let ty = pos.y;
  let tx = pos.z;
  let oy = 2u * ty;
  let ox = 2u * tx;
  let c = s.g * params.cog + s.c;
  let row = params.wo * params.cout;
  let base = ((b * params.ho + oy) * params.wo + ox) * params.cout + c;
  let right = ox + 1u < params.wo;
  let down = oy + 1u < params.ho;
  store4(base, y0[0]);
  if (right) { store4(base + params.cout, y0[1]); }
  if (down) { store4(base + row, y1[0]); }
  if (right && down) { store4(base + row + params.cout, y1[1]); }
}

fn store4(o: u32, v: vec4<f32>) {
  out[o] = v.x; out[o + 1u] = v.y; out[o + 2u] = v.z; out[o + 3u] = v.w;
}

// A·(p, q)ᵀ: four transform-domain values from two outputs (the adjoint of `at`).
fn a2(p: vec4<f32>, q: vec4<f32>) -> Quad { return Quad(p, p + q, p - q, -q); }

fn dy_at(b: u32, y: u32, x: u32, c: u32) -> vec4<f32> {
  if (y >= params.ho || x >= params.wo) { return vec4<f32>(0.0); }   // outputs the forward dropped
  let o = ((b * params.ho + y) * params.wo + x) * params.cout + c;
  return mv[o / 4u];
}

// DY[ξ, g, tile, c] = (A·dy·Aᵀ)[ξ] for each tile's 2×2 block of dy (mv = dy here).
@compute @workgroup_size(WG)
fn dy_transform(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  if (t >= tiles() * params.groups * (params.cog / 4u)) { return; }
  let s = slot_of(t, params.cog);
  let pos = tile_pos(s.tile);
  let b = pos.x;
  let ty = pos.y;
  let tx = pos.z;
  let c = s.g * params.cog + s.c;
  let d00 = dy_at(b, 2u * ty, 2u * tx, c);
  let d01 = dy_at(b, 2u * ty, 2u * tx + 1u, c);
  let d10 = dy_at(b, 2u * ty + 1u, 2u * tx, c);
  let d11 = dy_at(b, 2u * ty + 1u, 2u * tx + 1u, c);
  // A·dy (rows: four from two), then each row ·Aᵀ.
  let v0 = a2(d00, d01);
  let v1 = a2(d00 + d10, d01 + d11);
  let v2 = a2(d00 - d10, d01 - d11);
  let v3 = a2(-d10, -d11);
  store_domain(s, params.cog, v0, v1, v2, v3);
}

// Gᵀ·(a, b, c, d)ᵀ: three filter taps from four transform-domain values.
fn gt3(v: vec4<f32>) -> vec3<f32> {
  return vec3<f32>(v.x + 0.5 * (v.y + v.z), 0.5 * (v.y - v.z), 0.5 * (v.y + v.z) + v.w);
}

// dW[ky, kx, ci, g·cog + co] = (Gᵀ·W̃·G)[ky, kx] for W̃[ξ, g, ci, co] (wt = W̃ here), one filter per invocation.
@compute @workgroup_size(WG)
fn weight_grad_transform(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  if (t >= params.groups * params.cig * params.cog) { return; }
  let plane = params.groups * params.cig * params.cog;
  // W̃ rows (ξ = 4·i + j), then Gᵀ over the rows (three from four), then ·G within each.
  var r: array<vec4<f32>, 4>;
  for (var i = 0u; i < 4u; i++) {
    let o = t + 4u * i * plane;
    r[i] = vec4<f32>(wt[o], wt[o + plane], wt[o + 2u * plane], wt[o + 3u * plane]);
  }
  let k0 = gt3(r[0] + 0.5 * (r[1] + r[2]));
  let k1 = gt3(0.5 * (r[1] - r[2]));
  let k2 = gt3(0.5 * (r[1] + r[2]) + r[3]);
  let co = t % params.cog;
  let ci = (t / params.cog) % params.cig;
  let g = t / (params.cog * params.cig);
  let tap = params.cig * params.cout;
  let o = ci * params.cout + g * params.cog + co;
  out[o] = k0.x; out[o + tap] = k0.y; out[o + 2u * tap] = k0.z;
  out[o + 3u * tap] = k1.x; out[o + 4u * tap] = k1.y; out[o + 5u * tap] = k1.z;
  out[o + 6u * tap] = k2.x; out[o + 7u * tap] = k2.y; out[o + 8u * tap] = k2.z;
}

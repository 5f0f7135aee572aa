// Conv2d forward as an implicit GEMM with workgroup-shared tiles, for hardware GPUs: the
// conv counterpart of shaders/matmul-shared.wgsl. NHWC x, HWIO weights [kh, kw, cig, cout];
// per group g (grid z):
//   out[m, co] = Σ_k A[m, k] · B[k, co],  m = (b, oh, ow) over n·ho·wo,  k = (ky, kx, ci)
//   over kh·kw·cig in HWIO order,  A[m, k] = x[b, oh·sh − pt + ky·dh, ow·sw − pl + kx·dw,
//   g·cig + ci] (0 outside the input),  B[k, co] = w[ky, kx, ci, g·cog + co].
// The im2col matrix A is never built: per step of BK along k, the workgroup gathers its
// BM × BK block of A straight from x into workgroup memory, padding, stride and dilation
// resolved in the loads (no padded copy of x), and copies the BK × BN block of B; after a
// barrier, each of its 16 × 16 invocations accumulates a 4 × 4 register tile of the
// BM × BN = 64 × 64 output block from there. Each global element is read once per
// workgroup instead of once per invocation that needs it, which is what a GPU's memory
// bandwidth rewards (and SwiftShader, which runs a workgroup on one thread, does not:
// docs/conv.md).
//
// Loads: invocation (lx, ly) gathers A at depth k0 + lx for rows ly + 16·j (consecutive
// invocations read consecutive channels of one pixel: coalesced) and B at depth
// k0 + ly/4 + 4·j for column (16·ly + lx) % 64 (consecutive columns). Its rows' positions
// (b, oh, ow) are resolved once, its depth's tap (ky, kx, ci) once per step. Loads past M,
// K, the input or the group's columns read 0 through select (a masked value is never
// multiplied: 0·inf = NaN) from a clamped in-bounds address, so robustness-off mode stays
// safe. Register tiles are strided (rows ly + 16·i, columns lx + 16·j): neighbouring
// invocations read neighbouring workgroup words and store neighbouring outputs.

struct Params {
  n: u32, h: u32, w: u32, cin: u32,
  ho: u32, wo: u32, cout: u32, groups: u32,
  cig: u32, cog: u32, kh: u32, kw: u32,
  sh: u32, sw: u32, dh: u32, dw: u32,
  pt: i32, pl: i32,
  m: u32,         // GEMM rows: output pixels n·ho·wo
  k: u32,         // GEMM depth: kh·kw·cig
  blocks_n: u32,  // column blocks per group: ceil(cog / BN)
  blocks: u32,    // blocks per group: ceil(m / BM) · blocks_n
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const SIDE: u32 = 16u;           // invocations per side of the workgroup
const LANES: u32 = 256u;         // SIDE²
const T: u32 = 4u;               // register tile: T × T outputs per invocation
const BM: u32 = 64u;             // SIDE·T rows of the block
const BN: u32 = 64u;             // SIDE·T columns
const BK: u32 = 16u;             // depth per shared step (= SIDE: one A depth per lx)
const A_STRIDE: u32 = BM + 1u;   // padded so that the 16 depths a row of lanes stores fall in 16 banks

var<workgroup> as_: array<f32, 1040>;  // [BK][A_STRIDE], depth-major
var<workgroup> bs_: array<f32, 1024>;  // [BK][BN]

@compute @workgroup_size(16, 16)
fn forward(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32,
           @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  // Blocks fold over x·y (column blocks fastest: neighbouring workgroups share A rows);
  // z is the group. Every invocation takes part in every barrier, so none returns early:
  // a block past the end (the fold's remainder) only skips its stores.
  let blk = wid.x + wid.y * nwg.x;
  let live_block = blk < params.blocks;
  let bi = select(0u, blk, live_block);
  let row0 = (bi / params.blocks_n) * BM;
  let col0 = (bi % params.blocks_n) * BN;
  let g = wid.z;

  // The A rows this invocation gathers: where their taps start in x.
  var a_base: array<u32, 4>;  // offset of pixel (b, 0, 0), channel g·cig
  var a_ih: array<i32, 4>;    // input row of tap ky = 0
  var a_iw: array<i32, 4>;    // input column of tap kx = 0
  var a_live: array<bool, 4>;
  for (var j = 0u; j < T; j++) {
    let r = row0 + lid.y + SIDE * j;
    let m = min(r, params.m - 1u);
    let ow = m % params.wo;
    let oh = (m / params.wo) % params.ho;
    let b = m / (params.wo * params.ho);
    a_base[j] = b * params.h * params.w * params.cin + g * params.cig;
    a_ih[j] = i32(oh * params.sh) - params.pt;
    a_iw[j] = i32(ow * params.sw) - params.pl;
    a_live[j] = r < params.m;
  }
  // The B column this invocation copies, and its first depth.
  let b_c = li % BN;
  let b_k = li / BN;
  let b_ok = col0 + b_c < params.cog;
  let b_col = g * params.cog + min(col0 + b_c, params.cog - 1u);

  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < params.k; k0 += BK) {
    // A block: depth k0 + lx, decoded into its tap once for the four rows.
    let ka = k0 + lid.x;
    let ka_ok = ka < params.k;
    let kc = min(ka, params.k - 1u);
    let ci = kc % params.cig;
    let tap = kc / params.cig;
    let dyo = i32((tap / params.kw) * params.dh);
    let dxo = i32((tap % params.kw) * params.dw);
    for (var j = 0u; j < T; j++) {
      let ih = a_ih[j] + dyo;
      let iw = a_iw[j] + dxo;
      let ok = ka_ok && a_live[j] && ih >= 0 && ih < i32(params.h) && iw >= 0 && iw < i32(params.w);
      let o = select(0u, a_base[j] + (u32(ih) * params.w + u32(iw)) * params.cin + ci, ok);
      as_[lid.x * A_STRIDE + lid.y + SIDE * j] = select(0.0, x[o], ok);
    }
    // B block: four depths of one column.
    for (var j = 0u; j < T; j++) {
      let kr = b_k + (LANES / BN) * j;
      let kb = k0 + kr;
      let ok = b_ok && kb < params.k;
      let o = select(0u, kb * params.cout + b_col, ok);
      bs_[kr * BN + b_c] = select(0.0, wt[o], ok);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var i = 0u; i < T; i++) { av[i] = as_[kk * A_STRIDE + lid.y + SIDE * i]; }
      for (var j = 0u; j < T; j++) { bv[j] = bs_[kk * BN + lid.x + SIDE * j]; }
      for (var i = 0u; i < T; i++) {
        for (var j = 0u; j < T; j++) { acc[i][j] = fma(av[i], bv[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  if (!live_block) { return; }
  for (var i = 0u; i < T; i++) {
    let r = row0 + lid.y + SIDE * i;
    if (r >= params.m) { continue; }
    for (var j = 0u; j < T; j++) {
      let c = col0 + lid.x + SIDE * j;
      if (c < params.cog) { out[r * params.cout + g * params.cog + c] = acc[i][j]; }
    }
  }
}

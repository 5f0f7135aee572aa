// Depthwise 2-D convolution: groups = channels, one input and one output channel per
// group (channel multiplier 1), NHWC activations, HWIO weights [kh, kw, 1, c].
//   forward: out[b, oh, ow, c] = Σ_ky,kx x[b, oh·sh − pt + ky·dh, ow·sw − pl + kx·dw, c] · w[ky, kx, c]
//   dx:      dx[b, ih, iw, c]  = Σ over the taps that land on (ih, iw) of dy · w (the transpose)
//   dw:      dw[ky, kx, c]     = Σ_b,oh,ow x[b, ih, iw, c] · dy[b, oh, ow, c]
// Channels are contiguous in NHWC and each channel is its own conv, so an invocation owns
// one quad of channels (a vec4 of independent lanes, no horizontal sums) and, for forward
// and dx, 4 neighbouring output columns in named accumulators; dW takes one tap (dw) or,
// for filters 3 or 5 wide, one filter row with a sliding window (dw_rows). Padding is handled
// where a tap is read — a clamped in-bounds address and a select, never a multiply by a
// masked value (0·inf = NaN) — so no padded copy of the input is made and robustness-off
// mode stays safe. With VEC (c % 4 == 0) loads and weights are single vec4 reads; else the
// quad's channels are clamped to c − 1 for reading and dropped at the store.

struct Params {
  n: u32, h: u32, w: u32, c: u32,
  ho: u32, wo: u32, kh: u32, kw: u32,
  sh: u32, sw: u32, dh: u32, dw: u32,
  pt: i32, pl: i32,
  c4: u32,      // channel quads: ceil(c / 4)
  blocks: u32,  // forward: ceil(wo / 4) column blocks per row; dx: sw phases × column blocks of a phase
  k_chunk: u32, // dw: output rows (b, oh) each split reduces
  splits: u32,  // dw: splits (partial copies of dW)
  step_y: u32,  // dx: taps between two that reach the same stride phase, sh / gcd(sh, dh)
  step_x: u32,  // and sw / gcd(sw, dw)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
// vec4 views of the same buffers as x and wt (bound twice, read-only), read when VEC.
@group(0) @binding(4) var<storage, read> xv: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> wv: array<vec4<f32>>;
// dw's second operand (dy) and its vec4 view.
@group(0) @binding(6) var<storage, read> dy: array<f32>;
@group(0) @binding(7) var<storage, read> dyv: array<vec4<f32>>;

override WG: u32 = 64u;
// c is a multiple of 4: one vec4 read per pixel and tap. A specialization constant.
override VEC: bool = false;

// The scalar offsets of one channel quad's lanes (clamped to the last channel, read only).
fn lanes(cq: u32) -> vec4<u32> {
  return min(vec4<u32>(cq * 4u) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.c - 1u));
}

// Channels cq·4 .. cq·4 + 3 of pixel `pixel` of x.
fn load_x(pixel: u32, cq: u32, cl: vec4<u32>) -> vec4<f32> {
  if (VEC) { return xv[pixel * params.c4 + cq]; }
  let p = pixel * params.c;
  return vec4<f32>(x[p + cl.x], x[p + cl.y], x[p + cl.z], x[p + cl.w]);
}

// The same quad of dw's dy.
fn load_dy(pixel: u32, cq: u32, cl: vec4<u32>) -> vec4<f32> {
  if (VEC) { return dyv[pixel * params.c4 + cq]; }
  let p = pixel * params.c;
  return vec4<f32>(dy[p + cl.x], dy[p + cl.y], dy[p + cl.z], dy[p + cl.w]);
}

// Tap (ky, kx) of the quad's filters.
fn load_w(tap: u32, cq: u32, cl: vec4<u32>) -> vec4<f32> {
  if (VEC) { return wv[tap * params.c4 + cq]; }
  let p = tap * params.c;
  return vec4<f32>(wt[p + cl.x], wt[p + cl.y], wt[p + cl.z], wt[p + cl.w]);
}

// Column `col` of the row starting at pixel `row` (width `width`), zero outside 0..width−1.
fn load_col(row: u32, col: i32, width: u32, cq: u32, cl: vec4<u32>) -> vec4<f32> {
  return load_col_in(row, col, width, width, cq, cl);
}

// Column `col` of the row starting at pixel `row` (`real_width` wide: the clamp), zero
// outside 0..width−1 (width 0: the whole row lies outside the input).
fn load_col_in(row: u32, col: i32, width: u32, real_width: u32, cq: u32, cl: vec4<u32>) -> vec4<f32> {
  let inside = col >= 0 && col < i32(width);
  let v = load_x(row + u32(clamp(col, 0, i32(real_width) - 1)), cq, cl);
  return select(vec4<f32>(0.0), v, inside);
}

fn store(pixel: u32, cq: u32, v: vec4<f32>) {
  let o = pixel * params.c + cq * 4u;
  if (VEC || cq * 4u + 3u < params.c) {
    out[o] = v.x; out[o + 1u] = v.y; out[o + 2u] = v.z; out[o + 3u] = v.w;
    return;
  }
  for (var j = 0u; j < 4u; j++) {
    if (cq * 4u + j < params.c) { out[o + j] = v[j]; }
  }
}

// (channel quad, column block, row, image) of invocation t, channel quads fastest.
fn split_index(t: u32, rows: u32) -> vec4<u32> {
  let cq = t % params.c4;
  let r = t / params.c4;
  let blk = r % params.blocks;
  let r2 = r / params.blocks;
  return vec4<u32>(cq, blk, r2 % rows, r2 / rows);
}

// ------------------------------------------------------------------ forward
// Output row oh, columns ow0 .. ow0 + 3, one channel quad. The taps are one flat loop
// (ky, kx stepped by a select; nested loops cost a loop entry per tap row on SwiftShader:
// docs/kernels.md); a tap row outside the input is masked like a column outside it.
@compute @workgroup_size(WG)
fn forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  if (t >= params.n * params.ho * params.blocks * params.c4) { return; }
  let q = split_index(t, params.ho);
  let cq = q.x; let oh = q.z; let b = q.w;
  let ow0 = q.y * 4u;
  let cl = lanes(cq);
  let sw = i32(params.sw);
  let ih0 = i32(oh * params.sh) - params.pt;
  let iw0 = i32(ow0 * params.sw) - params.pl;
  let taps = params.kh * params.kw;
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  var kx = 0u;
  var ky = 0u;
  for (var tap = 0u; tap < taps; tap++) {
    let ih = ih0 + i32(ky * params.dh);
    // Outside rows read row 0 or h − 1, zeroed by the mask: one test per tap, no branch.
    let width = select(0u, params.w, ih >= 0 && ih < i32(params.h));
    let row = (b * params.h + u32(clamp(ih, 0, i32(params.h) - 1))) * params.w;
    let f = load_w(tap, cq, cl);
    let iw = iw0 + i32(kx * params.dw);
    a0 += load_col_in(row, iw, width, params.w, cq, cl) * f;
    a1 += load_col_in(row, iw + sw, width, params.w, cq, cl) * f;
    a2 += load_col_in(row, iw + 2 * sw, width, params.w, cq, cl) * f;
    a3 += load_col_in(row, iw + 3 * sw, width, params.w, cq, cl) * f;
    kx += 1u;
    let next_row = kx == params.kw;
    kx = select(kx, 0u, next_row);
    ky = select(ky, ky + 1u, next_row);
  }
  let o = (b * params.ho + oh) * params.wo + ow0;
  store(o, cq, a0);
  if (ow0 + 1u < params.wo) { store(o + 1u, cq, a1); }
  if (ow0 + 2u < params.wo) { store(o + 2u, cq, a2); }
  if (ow0 + 3u < params.wo) { store(o + 3u, cq, a3); }
}

// ------------------------------------------------------------------ dx
// The first tap k < taps with (n − k·d) a multiple of s (taps when none); the next ones
// are every step (s / gcd(s, d)) after it.
fn first_tap(n: i32, d: u32, s: i32, taps: u32) -> u32 {
  var k = 0u;
  for (; k < taps; k++) {
    if ((n - i32(k * d)) % s == 0) { break; }
  }
  return k;
}

// The transposed conv, gathered: input row ih, columns iw = phase + sw·(j0 + 0..3) of one
// stride phase (so every column of the invocation meets the same taps: a tap reaches
// column iw only where iw + pl − kx·dw is a multiple of sw), one channel quad. Taps that
// reach no column of the phase, and tap rows that reach no dy row, are skipped whole, so
// no work is spent on stride holes; dy columns past the edge read as zero. Here x is dy
// ([n, ho, wo, c]) and out is dx ([n, h, w, c]); `blocks` = sw · column blocks per phase.
@compute @workgroup_size(WG)
fn dx(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  if (t >= params.n * params.h * params.blocks * params.c4) { return; }
  let q = split_index(t, params.h);
  let cq = q.x; let ih = q.z; let b = q.w;
  let per_phase = params.blocks / params.sw;
  let phase = q.y / per_phase;
  let iw0 = phase + params.sw * (q.y % per_phase) * 4u;
  let cl = lanes(cq);
  let sh = i32(params.sh); let sw = i32(params.sw);
  // The taps that reach row ih (column iw0) are every step-th from the first: found once
  // here, so the loops below do no integer division (scalarised on a CPU adapter).
  let ny0 = i32(ih) + params.pt;
  let nx0 = i32(iw0) + params.pl;
  let ky0 = first_tap(ny0, params.dh, sh, params.kh);
  let kx0 = first_tap(nx0, params.dw, sw, params.kw);
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  // dy row and column of the first taps, and how far they move per step (exact divisions).
  let oh_step = i32(params.step_y * params.dh) / sh;
  let ow_step = i32(params.step_x * params.dw) / sw;
  let ow_first = (nx0 - i32(kx0 * params.dw)) / sw;
  let oh_first = (ny0 - i32(ky0 * params.dh)) / sh;
  // The reachable taps as one flat loop over ny rows × nx columns of them (nested loops
  // cost a loop entry per tap row on SwiftShader: docs/kernels.md); a tap row whose dy row
  // lies outside dy is masked like a column outside it.
  let ny = select(0u, (params.kh - ky0 + params.step_y - 1u) / params.step_y, ky0 < params.kh);
  let nx = select(0u, (params.kw - kx0 + params.step_x - 1u) / params.step_x, kx0 < params.kw);
  var ky = ky0; var kx = kx0;
  var oh = oh_first; var ow = ow_first;
  var j = 0u;  // kx's position in its row of taps
  for (var i = 0u; i < ny * nx; i++) {
    let width = select(0u, params.wo, oh >= 0 && oh < i32(params.ho));
    let row = (b * params.ho + u32(clamp(oh, 0, i32(params.ho) - 1))) * params.wo;
    let f = load_w(ky * params.kw + kx, cq, cl);
    a0 += load_col_in(row, ow, width, params.wo, cq, cl) * f;
    a1 += load_col_in(row, ow + 1, width, params.wo, cq, cl) * f;
    a2 += load_col_in(row, ow + 2, width, params.wo, cq, cl) * f;
    a3 += load_col_in(row, ow + 3, width, params.wo, cq, cl) * f;
    j += 1u;
    let next_row = j == nx;
    j = select(j, 0u, next_row);
    kx = select(kx + params.step_x, kx0, next_row);
    ow = select(ow - ow_step, ow_first, next_row);
    ky = select(ky, ky + params.step_y, next_row);
    oh = select(oh, oh - oh_step, next_row);
  }
  let o = (b * params.h + ih) * params.w + iw0;
  if (iw0 < params.w) { store(o, cq, a0); }
  if (iw0 + params.sw < params.w) { store(o + params.sw, cq, a1); }
  if (iw0 + 2u * params.sw < params.w) { store(o + 2u * params.sw, cq, a2); }
  if (iw0 + 3u * params.sw < params.w) { store(o + 3u * params.sw, cq, a3); }
}

// ------------------------------------------------------------------ dw
// One (tap, channel quad) per invocation, reducing over the output rows k_chunk·z ..
// k_chunk·(z + 1) of split z (the invocation index's slowest part) into partial z of dW.
// For a tap, the output columns whose input column is inside the image are one range
// [lo, hi), so the inner loop is two reads and one multiply-add with no tests; a tap row
// outside the input skips the output row.
@compute @workgroup_size(WG)
fn dw(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  let taps = params.kh * params.kw;
  if (t >= taps * params.c4 * params.splits) { return; }
  let cq = t % params.c4;
  let tap = (t / params.c4) % taps;
  let z = t / (params.c4 * taps);
  let ky = tap / params.kw;
  let kx = tap % params.kw;
  let cl = lanes(cq);
  // Valid ow: 0 <= ow·sw + kxd < w.
  let kxd = i32(kx * params.dw) - params.pl;
  let sw = i32(params.sw);
  let lo = select(0, (-kxd + sw - 1) / sw, kxd < 0);
  let span = i32(params.w) - 1 - kxd;
  let hi = select(0, min(i32(params.wo), span / sw + 1), span >= 0);
  let r0 = z * params.k_chunk;
  let r1 = min(params.n * params.ho, r0 + params.k_chunk);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  for (var orow = r0; orow < r1; orow++) {
    let oh = orow % params.ho;
    let ih = i32(oh * params.sh + ky * params.dh) - params.pt;
    if (ih < 0 || ih >= i32(params.h) || lo >= hi) { continue; }
    let b = orow / params.ho;
    var xp = (b * params.h + u32(ih)) * params.w + u32(lo * sw + kxd);
    var yp = orow * params.wo + u32(lo);
    let xs = params.sw;
    // Two accumulators: independent multiply-add chains.
    var ow = lo;
    for (; ow + 1 < hi; ow += 2) {
      acc0 += load_x(xp, cq, cl) * load_dy(yp, cq, cl);
      acc1 += load_x(xp + xs, cq, cl) * load_dy(yp + 1u, cq, cl);
      xp += 2u * xs;
      yp += 2u;
    }
    if (ow < hi) { acc0 += load_x(xp, cq, cl) * load_dy(yp, cq, cl); }
  }
  // Partial z of dW is [kh·kw, c] at `pixel` z·taps + tap.
  store(z * taps + tap, cq, acc0 + acc1);
}

// ------------------------------------------------------------------ dw_rows
// dW for undilated filters of width KW = 3 or 5 (the override KW5): a filter row's KW
// input columns live in named registers (a Win) that slide along the output row, one
// push per stride step, so each x column is read once per filter row instead of once
// per tap. (A function-local array would be indexed at run time and live in memory:
// measured 2–2.7× slower than the per-tap dw.)
override KW5: bool = false;
struct Win { v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>, v4: vec4<f32> }

fn push(w: Win, n: vec4<f32>) -> Win {
  if (KW5) { return Win(w.v1, w.v2, w.v3, w.v4, n); }
  return Win(w.v1, w.v2, n, n, n);
}

const EMPTY = Win(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));

// acc + a·d, tap by tap.
fn add_win(acc: Win, a: Win, d: vec4<f32>) -> Win {
  if (KW5) { return Win(acc.v0 + a.v0 * d, acc.v1 + a.v1 * d, acc.v2 + a.v2 * d, acc.v3 + a.v3 * d, acc.v4 + a.v4 * d); }
  return Win(acc.v0 + a.v0 * d, acc.v1 + a.v1 * d, acc.v2 + a.v2 * d, acc.v3, acc.v4);
}

// Push `count` columns starting at column `col` of the row at pixel `row`.
fn advance(w: Win, row: u32, col: i32, count: u32, width: u32, cq: u32, cl: vec4<u32>) -> Win {
  var r = w;
  for (var s = 0u; s < count; s++) { r = push(r, load_col(row, col + i32(s), width, cq, cl)); }
  return r;
}

// dW: one (filter row ky, channel quad) per invocation, its KW taps' sums side by side.
// Along an output row each step pushes sw x columns and reads one dy quad: KW
// multiply-adds for 1 + sw buffer reads (the per-tap dw: two per multiply-add). Split z
// reduces output rows k_chunk·z .. k_chunk·(z + 1) into partial z ([kh·kw, c]).
@compute @workgroup_size(WG)
fn dw_rows(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  if (t >= params.kh * params.c4 * params.splits) { return; }
  let cq = t % params.c4;
  let ky = (t / params.c4) % params.kh;
  let z = t / (params.c4 * params.kh);
  let cl = lanes(cq);
  let k = select(3u, 5u, KW5);
  var acc = EMPTY;
  let r0 = z * params.k_chunk;
  let r1 = min(params.n * params.ho, r0 + params.k_chunk);
  for (var orow = r0; orow < r1; orow++) {
    let oh = orow % params.ho;
    let ih = i32(oh * params.sh + ky) - params.pt;
    if (ih < 0 || ih >= i32(params.h)) { continue; }
    let row = ((orow / params.ho) * params.h + u32(ih)) * params.w;
    // The window of output column ow holds input columns ow·sw − pl .. ow·sw − pl + KW − 1.
    var win = advance(EMPTY, row, -params.pl, k - 1u, params.w, cq, cl);
    var nc = i32(k) - 1 - params.pl;
    var yp = orow * params.wo;
    win = advance(win, row, nc, 1u, params.w, cq, cl);
    nc += 1;
    for (var ow = 0u; ow < params.wo; ow++) {
      let d = load_dy(yp, cq, cl);
      acc = add_win(acc, win, d);
      win = advance(win, row, nc, params.sw, params.w, cq, cl);
      nc += i32(params.sw);
      yp += 1u;
    }
  }
  let p = (z * params.kh + ky) * k;
  store(p, cq, acc.v0); store(p + 1u, cq, acc.v1); store(p + 2u, cq, acc.v2);
  if (KW5) { store(p + 3u, cq, acc.v3); store(p + 4u, cq, acc.v4); }
}

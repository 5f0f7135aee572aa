// Sharpness-aware minimization (SAM, Foret et al. 2021): the ascent of a SAM step. Between
// its two forward-backward passes the weights move to w + e, e = ρ·g/‖g‖₂, where ‖g‖ is
// the norm of the whole gradient (every trainable tensor of every flat region):
//   sum_squares4: per region, PARTIALS strided partial sums of g² (no barriers)
//   ascent_scale: one workgroup adds every region's partial sums (a tree reduction) and
//                 writes ρ/‖g‖, or 0 when ‖g‖ is 0 (no ascent rather than a NaN)
//   ascent:       per region, w += scale·g, streaming vec4s
// The optimizer keeps a copy of w and restores it before its update (src/optim/sam.ts).

struct Params {
  length: u32,   // sum_squares4, ascent: elements in the region; ascent_scale: partial sums in all
  rho: f32,      // ascent_scale only
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> grad4: array<vec4<f32>>;
// This region's PARTIALS slots (sum_squares4) or every region's (ascent_scale).
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
@group(0) @binding(3) var<storage, read> partial_sums: array<f32>;
// [0] = ρ/‖g‖ (the step's ascent factor).
@group(0) @binding(4) var<storage, read_write> scale_out: array<f32>;
@group(0) @binding(5) var<storage, read> scale: array<f32>;
@group(0) @binding(6) var<storage, read_write> weight4: array<vec4<f32>>;
// The optimizer's non-finite guard (shaders/optim.wgsl): a flagged gradient gives no ascent.
@group(0) @binding(7) var<storage, read> step_status: array<u32>;

override WG: u32 = 256u;
// Partial sums per region (the host's SAM_PARTIALS): enough invocations to fill a GPU,
// few enough for one workgroup to add them all.
override PARTIALS: u32 = 4096u;
// vec4s per invocation of `ascent` (the host's STREAM_VECS).
override VECS: u32 = 4u;

var<workgroup> sums: array<f32, WG>;

// partial[t] = Σ g² over the vec4s t, t + PARTIALS, … of the region (padding is zero).
@compute @workgroup_size(WG)
fn sum_squares4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  if (t >= PARTIALS) { return; }
  let vecs = (params.length + 3u) / 4u;
  var acc = 0.0;
  for (var i = t; i < vecs; i += PARTIALS) {
    let g = grad4[i];
    acc += dot(g, g);
  }
  partial[t] = acc;
}

// One workgroup: scale_out[0] = ρ/‖g‖ from params.length partial sums.
@compute @workgroup_size(WG)
fn ascent_scale(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var k = lid; k < params.length; k += WG) { acc += partial_sums[k]; }
  sums[lid] = acc;
  workgroupBarrier();
  for (var width = WG / 2u; width > 0u; width /= 2u) {
    if (lid < width) { sums[lid] += sums[lid + width]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let norm = sqrt(sums[0]);
    scale_out[0] = select(0.0, params.rho / norm, norm > 0.0);
  }
}

// w += scale·g over the region, VECS vec4s per invocation; nothing when the guard flagged g.
@compute @workgroup_size(WG)
fn ascent(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (step_status[0] != 0u) { return; }
  let first = (flat_workgroup(wid, nwg) * WG + lid) * VECS;
  let vecs = (params.length + 3u) / 4u;
  let s = scale[0];
  for (var k = 0u; k < VECS; k++) {
    let i = first + k;
    if (i >= vecs) { return; }
    weight4[i] += s * grad4[i];
  }
}

// Data movement. `gather` writes every output element from a strided view of the input
// (permute, slice, broadcast, pad); `scatter` writes a whole input into a strided region
// of the output (concat). Shapes and strides are rank-8 uniforms, so one pipeline serves
// every shape.

struct Params {
  n: u32,                          // elements to move (output for gather, input for scatter)
  rank: u32,
  base: u32,                       // element offset of the view's origin
  fill: f32,                       // value outside the source (padding)
  shape: array<vec4<u32>, 2>,      // iteration shape (output for gather, input for scatter)
  strides: array<vec4<u32>, 2>,    // element strides of the strided side, per iteration dim
  lo: array<vec4<u32>, 2>,         // gather: padding before each dim
  extent: array<vec4<u32>, 2>,     // gather: source size of each dim (valid: lo <= c < lo + extent)
  // The same view for ranks <= 4 (innermost last, padded in front): vectors index far
  // faster than uniform arrays on SwiftShader.
  shape4: vec4<u32>,
  strides4: vec4<u32>,
  lo4: vec4<u32>,
  extent4: vec4<u32>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;
// Rank of the (coalesced) view; a constant so the index loop unrolls.
override RANK: u32 = 1u;
// gather: consecutive elements per invocation (1, or 4 for an unpadded view of rank <= 4
// whose innermost dimension is a multiple of 4); see ELEMS in elementwise.wgsl.
override ELEMS: u32 = 1u;

@compute @workgroup_size(WG)
fn gather(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (flat_workgroup(wid, nwg) * WG + lid) * ELEMS;
  if (i >= params.n) { return; }
  var off = params.base;
  var inside = true;
  if (RANK <= 4u) {
    let s = params.shape4;
    let r3 = i / s.w;
    let r2 = r3 / s.z;
    let c = vec4<u32>(r2 / s.y, r2 % s.y, r3 % s.z, i % s.w);
    inside = all(c >= params.lo4) && all(c - params.lo4 < params.extent4);
    off += dot(c - params.lo4, params.strides4);   // wraps when outside; never read then
  } else {
    var rem = i;
    for (var d = i32(RANK) - 1; d >= 0; d--) {
      let du = u32(d);
      let size = params.shape[du >> 2u][du & 3u];
      let c = rem % size;
      rem = rem / size;
      let lo = params.lo[du >> 2u][du & 3u];
      inside = inside && c >= lo && c - lo < params.extent[du >> 2u][du & 3u];
      off += (c - lo) * params.strides[du >> 2u][du & 3u];
    }
  }
  out[i] = select(params.fill, x[min(off, arrayLength(&x) - 1u)], inside);
  if (ELEMS == 4u) {   // unpadded: all four inside, stepping by the innermost stride
    let s = params.strides4.w;
    out[i + 1u] = x[off + s];
    out[i + 2u] = x[off + 2u * s];
    out[i + 3u] = x[off + 3u * s];
  }
}

@compute @workgroup_size(WG)
fn scatter(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_workgroup(wid, nwg) * WG + lid;
  if (i >= params.n) { return; }
  var rem = i;
  var off = params.base;
  for (var d = i32(RANK) - 1; d >= 0; d--) {
    let du = u32(d);
    let size = params.shape[du >> 2u][du & 3u];
    off += (rem % size) * params.strides[du >> 2u][du & 3u];
    rem = rem / size;
  }
  out[off] = x[i];
}

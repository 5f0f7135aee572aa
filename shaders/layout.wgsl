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
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn gather(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_workgroup(wid, nwg) * WG + lid;
  if (i >= params.n) { return; }
  var rem = i;
  var off = params.base;
  var inside = true;
  for (var d = i32(params.rank) - 1; d >= 0; d--) {
    let du = u32(d);
    let size = dim8(params.shape, du);
    let c = rem % size;
    rem = rem / size;
    let lo = dim8(params.lo, du);
    inside = inside && c >= lo && c - lo < dim8(params.extent, du);
    off += (c - lo) * dim8(params.strides, du);   // wraps when outside; never read then
  }
  out[i] = select(params.fill, x[min(off, arrayLength(&x) - 1u)], inside);
}

@compute @workgroup_size(WG)
fn scatter(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_workgroup(wid, nwg) * WG + lid;
  if (i >= params.n) { return; }
  var rem = i;
  var off = params.base;
  for (var d = i32(params.rank) - 1; d >= 0; d--) {
    let du = u32(d);
    let size = dim8(params.shape, du);
    off += (rem % size) * dim8(params.strides, du);
    rem = rem / size;
  }
  out[off] = x[i];
}

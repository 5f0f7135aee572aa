// fill: every element of `out` set to one value (zeros, ones, full). Its own family, so the
// creation layer does not depend on the elementwise ops' op-code constants.

struct Params {
  n: u32,       // elements
  value: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;
// 4 when n is a multiple of 4: see ELEMS in elementwise.wgsl.
override ELEMS: u32 = 1u;

@compute @workgroup_size(WG)
fn fill(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (flat_workgroup(wid, nwg) * WG + lid) * ELEMS;
  if (i >= params.n) { return; }
  out[i] = params.value;
  if (ELEMS == 4u) { out[i + 1u] = params.value; out[i + 2u] = params.value; out[i + 3u] = params.value; }
}

// The opt-in numerics check (init({ checkNumerics: true })): after every op, one pass over
// its f32 output keeps, in first_bad[0], the smallest op index whose output held a NaN or
// ±∞, so the host can name the op that made the first non-finite value.

struct Params {
  length: u32,      // elements of the output
  op_index: u32,    // the op's position among the ops checked since the last verification
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read_write> first_bad: array<atomic<u32>>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn check_output(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_workgroup(wid, nwg) * WG + lid;
  if (i >= params.length) { return; }
  // By the bits (all exponent bits set): WGSL lets a compiler assume floats are finite.
  if ((bitcast<u32>(values[i]) & 0x7f800000u) == 0x7f800000u) { atomicMin(&first_bad[0], params.op_index); }
}

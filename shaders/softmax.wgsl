// Softmax and log-softmax along one axis of a tensor viewed as [outer, r, inner]. One
// thread per (outer, inner) line: max, then sum of exp(x - max), then write — stable for
// any finite input.

struct Params {
  outer: u32,
  r: u32,
  inner: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override WG: u32 = 64u;
override LOG: bool = false;

@compute @workgroup_size(WG)
fn softmax(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  if (t >= params.outer * params.inner) { return; }
  let base = (t / params.inner) * params.r * params.inner + t % params.inner;
  var m = -f32_inf();
  for (var j = 0u; j < params.r; j++) { m = max(m, x[base + j * params.inner]); }
  var s = 0.0;
  for (var j = 0u; j < params.r; j++) { s += exp(x[base + j * params.inner] - m); }
  let log_s = log(s);
  for (var j = 0u; j < params.r; j++) {
    let z = x[base + j * params.inner] - m;
    out[base + j * params.inner] = select(exp(z - log_s), z - log_s, LOG);
  }
}

// Fused scaled residual of the NF block:  out = x + alpha · gain · h
// (x the shortcut, h the residual branch, gain the learnable scalar skip_gain, alpha the
// block's α). One read of x and h and one write instead of three elementwise dispatches
// (gain·α, ·h, +x). The gradient w.r.t. h is the same kernel shape: dh = alpha · gain · dy.
// gain is read from a storage buffer (a scalar tensor), so a changing skip_gain never
// rebuilds a pipeline or rewrites a uniform.
//
// Two variants of each entry: scalar (any n) and `…4` over vec4s (n % 4 == 0, every NHWC
// activation with channels % 4 == 0), which the host picks. The vec4 ones bind the same
// buffers under other names typed array<vec4<f32>>; params.n then counts vec4s.

struct Params {
  n: u32,        // elements of x (= of h); vec4s for the …4 entries
  alpha: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> h: array<f32>;
@group(0) @binding(3) var<storage, read> gain: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> h4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> dy4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> out4: array<vec4<f32>>;

override WG: u32 = 256u;

fn element_index(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return flat_workgroup(wid, nwg) * WG + lid;   // dispatches past 65535 workgroups are folded into y
}

@compute @workgroup_size(WG)
fn residual_forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = element_index(lid, wid, nwg);
  if (i >= params.n) { return; }
  out[i] = x[i] + params.alpha * gain[0] * h[i];
}

@compute @workgroup_size(WG)
fn residual_forward4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = element_index(lid, wid, nwg);
  if (i >= params.n) { return; }
  out4[i] = x4[i] + (params.alpha * gain[0]) * h4[i];
}

// dh = alpha · gain · dy   (dx = dy needs no kernel; dgain = alpha · Σ dy·h is a reduction)
@compute @workgroup_size(WG)
fn residual_dh(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = element_index(lid, wid, nwg);
  if (i >= params.n) { return; }
  out[i] = params.alpha * gain[0] * dy[i];
}

@compute @workgroup_size(WG)
fn residual_dh4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = element_index(lid, wid, nwg);
  if (i >= params.n) { return; }
  out4[i] = (params.alpha * gain[0]) * dy4[i];
}

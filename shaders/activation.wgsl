// Gamma-scaled activations with an optional fused per-channel bias:
//   y = gamma · act(x + bias[c]),  c = index mod channels (the last axis of an NHWC tensor).
// One kernel does bias + activation + gamma (the epilogue the NFNet blocks need), and its
// twin computes dx = dy · gamma · act'(x + bias). KIND is an override so every activation
// is its own pipeline with no branch in the loop.

struct Params {
  n: u32,          // elements
  channels: u32,   // bias length (the last axis); ignored unless HAS_BIAS
  gamma: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
// The same tensors 16 elements at a time, for the `…16` entries (n a multiple of 16, and
// the bias length too): with Dawn's robustness on, each access pays an index clamp, so one
// mat4x4 access per operand replaces sixteen scalar ones (see streamsMat4x4 in
// src/ops/util.ts). Only the variables an entry uses are in its pipeline's layout.
@group(0) @binding(5) var<storage, read> x16: array<mat4x4<f32>>;
@group(0) @binding(6) var<storage, read> bias16: array<mat4x4<f32>>;
@group(0) @binding(7) var<storage, read> dy16: array<mat4x4<f32>>;
@group(0) @binding(8) var<storage, read_write> out16: array<mat4x4<f32>>;

override WG: u32 = 256u;
// KIND_IDENTITY, KIND_RELU, KIND_GELU (tanh form), …: constants the runtime writes above
// this file from KIND_CODES in src/ops/activation.ts, their only definition.
override KIND: u32 = 0u;
override HAS_BIAS: bool = false;
// Consecutive elements per invocation (1 or 4; 4 needs n and the bias length to be
// multiples of 4): see ELEMS in elementwise.wgsl.
override ELEMS: u32 = 1u;

// act(z), act4(z) and the numerics they use (stable_tanh, normal_cdf, …) are in
// shaders/act.wgsl, appended to this file (and to the conv kernels with a fused epilogue).

// act'(z). relu'(0) = 0, the convention of the plain relu op.
fn act_grad(z: f32) -> f32 {
  switch KIND {
    case KIND_RELU: { return select(0.0, 1.0, z > 0.0); }
    case KIND_GELU: {
      let t = stable_tanh(SQRT_2_OVER_PI * (z + GELU_C * z * z * z));
      let du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_C * z * z);
      return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * du;
    }
    case KIND_SILU: {
      let s = stable_sigmoid(z);
      return s * (1.0 + z * (1.0 - s));
    }
    case KIND_TANH: {
      let t = stable_tanh(z);
      return 1.0 - t * t;
    }
    case KIND_SIGMOID: {
      let s = stable_sigmoid(z);
      return s * (1.0 - s);
    }
    // d/dz z·Φ(z) = Φ(z) + z·φ(z); exp(−z²/2) underflows to 0 for large |z|, never inf.
    case KIND_GELU_ERF: { return normal_cdf(z) + z * INV_SQRT_2PI * exp(-0.5 * z * z); }
    case KIND_IDENTITY, default: { return 1.0; }
  }
}

// x + bias for element i, whose channel is c (i mod channels, taken once per invocation:
// SwiftShader scalarises integer division, and with ELEMS = 4 the four elements are
// channels c … c+3 of one pixel).
fn pre_activation(i: u32, c: u32) -> f32 {
  if (HAS_BIAS) { return x[i] + bias[c]; }
  return x[i];
}

fn channel_of(i: u32) -> u32 {
  if (HAS_BIAS) { return i % params.channels; }
  return 0u;
}

fn element_index(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return flat_workgroup(wid, nwg) * WG + lid;
}

@compute @workgroup_size(WG)
fn act_forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = element_index(lid, wid, nwg) * ELEMS;
  if (i >= params.n) { return; }
  let c = channel_of(i);
  out[i] = params.gamma * act(pre_activation(i, c));
  if (ELEMS == 4u) {   // written out: a loop here is not unrolled and costs the gain
    out[i + 1u] = params.gamma * act(pre_activation(i + 1u, c + 1u));
    out[i + 2u] = params.gamma * act(pre_activation(i + 2u, c + 2u));
    out[i + 3u] = params.gamma * act(pre_activation(i + 3u, c + 3u));
  }
}

@compute @workgroup_size(WG)
fn act_backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = element_index(lid, wid, nwg) * ELEMS;
  if (i >= params.n) { return; }
  let c = channel_of(i);
  out[i] = dy[i] * params.gamma * act_grad(pre_activation(i, c));
  if (ELEMS == 4u) {
    out[i + 1u] = dy[i + 1u] * params.gamma * act_grad(pre_activation(i + 1u, c + 1u));
    out[i + 2u] = dy[i + 2u] * params.gamma * act_grad(pre_activation(i + 2u, c + 2u));
    out[i + 3u] = dy[i + 3u] * params.gamma * act_grad(pre_activation(i + 3u, c + 3u));
  }
}

fn act_grad4(z: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(act_grad(z.x), act_grad(z.y), act_grad(z.z), act_grad(z.w));
}

// x + bias for the q-th 16 elements (one pixel's channels 16·k … 16·k + 15 when biased).
fn pre_activation16(q: u32) -> mat4x4<f32> {
  if (HAS_BIAS) { return x16[q] + bias16[((16u * q) % params.channels) / 16u]; }
  return x16[q];
}

@compute @workgroup_size(WG)
fn act_forward16(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = element_index(lid, wid, nwg);
  if (q >= params.n / 16u) { return; }
  let z = pre_activation16(q);
  out16[q] = params.gamma * mat4x4<f32>(act4(z[0]), act4(z[1]), act4(z[2]), act4(z[3]));
}

// Column by column: mat4x4 · mat4x4 would be the matrix product.
@compute @workgroup_size(WG)
fn act_backward16(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = element_index(lid, wid, nwg);
  if (q >= params.n / 16u) { return; }
  let z = pre_activation16(q);
  let g = dy16[q];
  out16[q] = params.gamma * mat4x4<f32>(g[0] * act_grad4(z[0]), g[1] * act_grad4(z[1]), g[2] * act_grad4(z[2]), g[3] * act_grad4(z[3]));
}

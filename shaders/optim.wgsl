// Multi-tensor optimizer kernels. Every parameter of a segment lives in one flat f32 region
// per state (params, grads, momentum, EMA); a metadata table says where each tensor starts
// and how its elements group into AGC units, so a whole step is two dispatches however
// many tensors the model has:
//   1. unit_clip:   the AGC factor of every unit of every clipped tensor, from ‖W_u‖ and ‖G_u‖
//   2. sgd_update:  AGC clip → + weight decay·W → momentum (Nesterov) → W −= lr·update
// A tensor viewed as [outer, units, inner] has unit u = its elements with that middle
// index: HWIO conv weights and (in, out) linear weights have inner = 1 (unit = output
// channel/column), vectors and scalars are one unit (units = inner = 1).

struct TensorInfo {
  offset: u32,      // first element in the flat region
  size: u32,        // elements
  units: u32,
  inner: u32,
  unit_base: u32,   // index of its first unit among all units of the segment
  flags: u32,       // bit 0: AGC-clipped, bit 1: weight decay
  pad0: u32,
  pad1: u32,
}

struct Params {
  length: u32,          // elements in the flat region
  total_units: u32,
  tensors: u32,
  nesterov: u32,
  lr: f32,
  momentum: f32,
  weight_decay: f32,
  clipping: f32,        // λ
  eps: f32,             // floor of ‖W‖ in the AGC bound
  decay: f32,           // EMA decay (ema_update only)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tensor_info: array<TensorInfo>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read> clip_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> weight: array<f32>;
@group(0) @binding(6) var<storage, read_write> clip: array<f32>;
@group(0) @binding(9) var<storage, read> block_tensor: array<u32>;
// The same flat regions as vec4s, for the streaming passes (sgd_update, ema_update).
@group(0) @binding(10) var<storage, read> grad4: array<vec4<f32>>;
@group(0) @binding(11) var<storage, read_write> weight4: array<vec4<f32>>;
@group(0) @binding(12) var<storage, read_write> velocity4: array<vec4<f32>>;
@group(0) @binding(13) var<storage, read> current4: array<vec4<f32>>;
@group(0) @binding(14) var<storage, read_write> average4: array<vec4<f32>>;

override WG: u32 = 256u;
// vec4s per invocation in the streaming passes (set by the host: STREAM_VECS in
// src/optim/flat.ts): 4 = 16 elements, which share one BLOCK. Fewer, larger invocations
// measured 1.4× faster on SwiftShader than 4 elements each.
override VECS: u32 = 4u;

// Tensors start on multiples of BLOCK elements (src/optim/flat.ts): block_tensor[e / BLOCK]
// is the tensor of element e, and elements past a tensor's end are padding.
const BLOCK: u32 = 256u;
const AGC: u32 = 1u;
const DECAY: u32 = 2u;
// Floor of ‖G‖ when rescaling, as the reference.
const GRAD_NORM_FLOOR: f32 = 1e-6;

fn thread_index(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return flat_workgroup(wid, nwg) * WG + lid;
}

// The tensor that owns global unit u: the last one whose unit_base is ≤ u (binary search;
// units are few next to elements).
fn tensor_of_unit(u: u32) -> u32 {
  var lo = 0u;
  var hi = params.tensors - 1u;
  while (lo < hi) {
    let mid = (lo + hi + 1u) / 2u;
    if (tensor_info[mid].unit_base <= u) { lo = mid; } else { hi = mid - 1u; }
  }
  return lo;
}

// AGC, one thread per unit: factor 1, or max/max(‖G‖, 1e-6) when ‖G‖ exceeds
// max = λ·max(‖W‖, eps). Computed once per unit; the update pass only multiplies.
@compute @workgroup_size(WG)
fn unit_clip(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let u = thread_index(lid, wid, nwg);
  if (u >= params.total_units) { return; }
  let info = tensor_info[tensor_of_unit(u)];
  if ((info.flags & AGC) == 0u) { return; }   // never read for unclipped tensors
  let unit_index = u - info.unit_base;
  let count = info.size / info.units;
  var w2 = 0.0;
  var g2 = 0.0;
  for (var j = 0u; j < count; j++) {
    let o = j / info.inner;
    let idx = info.offset + (o * info.units + unit_index) * info.inner + j % info.inner;
    let w = weight[idx];
    let g = grad[idx];
    w2 += w * w;
    g2 += g * g;
  }
  let max_norm = params.clipping * max(sqrt(w2), params.eps);
  let g_norm = sqrt(g2);
  clip[u] = select(1.0, max_norm / max(g_norm, GRAD_NORM_FLOOR), g_norm > max_norm);
}

fn clip_factor(info: TensorInfo, local: u32) -> f32 {
  return clip_in[info.unit_base + (local / info.inner) % info.units];
}

fn clip_factors(info: TensorInfo, local: u32) -> vec4<f32> {
  if ((info.flags & AGC) == 0u) { return vec4(1.0); }
  return vec4(clip_factor(info, local), clip_factor(info, local + 1u), clip_factor(info, local + 2u), clip_factor(info, local + 3u));
}

// The flat regions are vec4-padded and every tensor starts on a BLOCK boundary, so a vec4
// never holds two tensors: its elements past the tensor's end are padding, which is updated
// along (harmlessly: nothing reads it back) instead of being masked per element.
@compute @workgroup_size(WG)
fn sgd_update(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let first = thread_index(lid, wid, nwg) * VECS;
  let vecs = (params.length + 3u) / 4u;
  if (first >= vecs) { return; }
  let info = tensor_info[block_tensor[first * 4u / BLOCK]];
  for (var k = 0u; k < VECS; k++) {
    if (first + k >= vecs) { return; }
    update4(first + k, info);
  }
}

fn update4(i: u32, info: TensorInfo) {
  let w = weight4[i];
  var g = grad4[i] * clip_factors(info, i * 4u - info.offset);
  if ((info.flags & DECAY) != 0u) { g += params.weight_decay * w; }
  let v = params.momentum * velocity4[i] + g;
  velocity4[i] = v;
  let step_dir = select(v, g + params.momentum * v, params.nesterov != 0u);
  weight4[i] = w - params.lr * step_dir;
}

// Exponential moving average of the weights: average = decay·average + (1 − decay)·current.
// VECS vec4s per invocation, as sgd_update (padding included).
@compute @workgroup_size(WG)
fn ema_update(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let first = thread_index(lid, wid, nwg) * VECS;
  let vecs = (params.length + 3u) / 4u;
  for (var k = 0u; k < VECS; k++) {
    let i = first + k;
    if (i >= vecs) { return; }
    average4[i] = params.decay * average4[i] + (1.0 - params.decay) * current4[i];
  }
}

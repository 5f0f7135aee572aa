// Multi-tensor optimizer kernels. Every parameter of a segment lives in one flat f32 region
// per state (params, grads, momentum, EMA); a metadata table says where each tensor starts
// and how its elements group into AGC units, so a whole step is one dispatch however many
// tensors the model has:
//   sgd_step: per thread, one AGC unit or four neighbouring ones: the AGC factor of each
//             unit from ‖W_u‖ and ‖G_u‖, then clip → + weight decay·W → momentum
//             (Nesterov) → W −= lr·update
// A tensor viewed as [outer, units, inner] has unit u = its elements with that middle
// index: HWIO conv weights and (in, out) linear weights have inner = 1 (unit = output
// channel/column), vectors and scalars are one unit (units = inner = 1).

struct TensorInfo {
  offset: u32,      // first element in the flat region
  size: u32,        // elements
  units: u32,
  inner: u32,
  thread_base: u32, // index of its first sgd_step thread among all threads of the segment
  flags: u32,       // bit 0: AGC-clipped, bit 1: weight decay, bit 2: walked as vec4s (VEC4)
  pad0: u32,
  pad1: u32,
}

struct Params {
  length: u32,          // elements in the flat region
  threads: u32,         // sgd_step threads of the segment
  nesterov: u32,
  pad: u32,
  lr: f32,
  momentum: f32,
  weight_decay: f32,
  clipping: f32,        // λ
  eps: f32,             // floor of ‖W‖ in the AGC bound
  decay: f32,           // EMA decay (ema_update only)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tensor_info: array<TensorInfo>;
// The step's regions as vec4s; a scalar path indexes a vec4's component.
@group(0) @binding(2) var<storage, read> grad: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> thread_tensor: array<u32>;   // the tensor of each sgd_step thread
@group(0) @binding(4) var<storage, read_write> weight: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> velocity: array<vec4<f32>>;
// The non-finite guard: a step whose loss or gradients hold a NaN or ±∞ changes nothing.
// check_finite* set status[0] (atomically); sgd_step and ema_update read it as step_status
// and leave weights, momentum and averages untouched when it is set.
@group(0) @binding(6) var<storage, read> step_status: array<u32>;
@group(0) @binding(7) var<storage, read_write> status: array<atomic<u32>>;
@group(0) @binding(8) var<storage, read> values4: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read> values: array<f32>;
@group(0) @binding(10) var<storage, read_write> report: array<f32>;
// The EMA's flat regions as vec4s (ema_update streams them).
@group(0) @binding(13) var<storage, read> current4: array<vec4<f32>>;
@group(0) @binding(14) var<storage, read_write> average4: array<vec4<f32>>;

override WG: u32 = 256u;
// vec4s per invocation in ema_update (set by the host: STREAM_VECS in src/optim/flat.ts):
// fewer, larger invocations measured 1.4× faster on SwiftShader than one vec4 each.
override VECS: u32 = 4u;

const AGC: u32 = 1u;
const DECAY: u32 = 2u;
const VEC4: u32 = 4u;
// Floor of ‖G‖ when rescaling, as the reference.
const GRAD_NORM_FLOOR: f32 = 1e-6;

// Each thread takes the norms of its units and then updates them: no cross-thread
// reduction, so no barriers (a kernel with barriers runs as coroutines on SwiftShader,
// ~0.25 ms a workgroup). Tensors AGC does not clip are walked the same way, with factor 1.
// A VEC4 tensor is walked as vec4s, a quarter of the loads, address arithmetic and bounds
// checks of the scalar walk: with inner = 1 and units % 4 = 0 (HWIO conv, (in, out)
// linear) a thread owns four neighbouring units, one vec4 column of the rows; a one-unit
// tensor of size % 4 = 0 is walked whole. The rest take one unit per thread, scalar.
@compute @workgroup_size(WG)
fn sgd_step(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  if (t >= params.threads || step_status[0] != 0u) { return; }
  let info = tensor_info[thread_tensor[t]];
  let k = t - info.thread_base;
  if ((info.flags & VEC4) != 0u) {
    step_vec4(info, k);
  } else if (info.inner == 1u) {
    step_column(info, k);
  } else {
    step_rows(info, k);
  }
}

// Units k..k+3 of an inner = 1 tensor (or the whole of a one-unit tensor) as vec4s.
fn step_vec4(info: TensorInfo, k: u32) {
  let whole = info.units == 1u;
  let first = info.offset / 4u + select(k, 0u, whole);
  let stride = select(info.units / 4u, 1u, whole);
  let end = (info.offset + info.size) / 4u;
  var factor = vec4(1.0);
  if ((info.flags & AGC) != 0u) {
    var ww = vec4(0.0);
    var gg = vec4(0.0);
    for (var e = first; e < end; e += stride) {
      let w = weight[e];
      let g = grad[e];
      ww += w * w;
      gg += g * g;
    }
    if (whole) {
      ww = vec4(dot(ww, vec4(1.0)));
      gg = vec4(dot(gg, vec4(1.0)));
    }
    factor = clip_factor(ww, gg);
  }
  for (var e = first; e < end; e += stride) {
    let next = stepped(weight[e], grad[e] * factor, velocity[e], info.flags);
    velocity[e] = next.v;
    weight[e] = next.w;
  }
}

// Unit k of an inner = 1 tensor: its elements are k, k + units, ... (scalar).
fn step_column(info: TensorInfo, k: u32) {
  let end = info.offset + info.size;
  var factor = 1.0;
  if ((info.flags & AGC) != 0u) {
    var sums = vec2(0.0);
    for (var e = info.offset + k; e < end; e += info.units) {
      let w = weight_at(e);
      let g = grad_at(e);
      sums += vec2(w * w, g * g);
    }
    factor = clip_factor(vec4(sums.x), vec4(sums.y)).x;
  }
  for (var e = info.offset + k; e < end; e += info.units) { update(e, factor, info.flags); }
}

// Unit k of a tensor viewed as [outer, units, inner]: a run of `inner` elements per row (scalar).
fn step_rows(info: TensorInfo, k: u32) {
  let outer = info.size / (info.units * info.inner);
  var factor = 1.0;
  if ((info.flags & AGC) != 0u) {
    var sums = vec2(0.0);
    for (var o = 0u; o < outer; o++) {
      let row = info.offset + (o * info.units + k) * info.inner;
      for (var i = 0u; i < info.inner; i++) {
        let w = weight_at(row + i);
        let g = grad_at(row + i);
        sums += vec2(w * w, g * g);
      }
    }
    factor = clip_factor(vec4(sums.x), vec4(sums.y)).x;
  }
  for (var o = 0u; o < outer; o++) {
    let row = info.offset + (o * info.units + k) * info.inner;
    for (var i = 0u; i < info.inner; i++) { update(row + i, factor, info.flags); }
  }
}

// AGC, per unit: 1, or max/max(‖G‖, 1e-6) when ‖G‖ exceeds max = λ·max(‖W‖, eps).
fn clip_factor(w_squares: vec4<f32>, g_squares: vec4<f32>) -> vec4<f32> {
  let max_norm = params.clipping * max(sqrt(w_squares), vec4(params.eps));
  let g_norm = sqrt(g_squares);
  return select(vec4(1.0), max_norm / max(g_norm, vec4(GRAD_NORM_FLOOR)), g_norm > max_norm);
}

fn weight_at(e: u32) -> f32 { return weight[e / 4u][e % 4u]; }
fn grad_at(e: u32) -> f32 { return grad[e / 4u][e % 4u]; }

fn update(e: u32, factor: f32, flags: u32) {
  let next = stepped(vec4(weight_at(e)), vec4(grad_at(e) * factor), vec4(velocity[e / 4u][e % 4u]), flags);
  velocity[e / 4u][e % 4u] = next.v.x;
  weight[e / 4u][e % 4u] = next.w.x;
}

struct Stepped {
  w: vec4<f32>,
  v: vec4<f32>,
}

// The clipped gradient g → + weight decay·w → momentum v → the new weights (Nesterov or plain).
fn stepped(w: vec4<f32>, clipped: vec4<f32>, v: vec4<f32>, flags: u32) -> Stepped {
  var g = clipped;
  if ((flags & DECAY) != 0u) { g += params.weight_decay * w; }
  let v_next = params.momentum * v + g;
  let step_dir = select(v_next, g + params.momentum * v_next, params.nesterov != 0u);
  return Stepped(w - params.lr * step_dir, v_next);
}

// Exponential moving average of the weights: average = decay·average + (1 − decay)·current.
// VECS vec4s per invocation (padding included).
@compute @workgroup_size(WG)
fn ema_update(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (step_status[0] != 0u) { return; }
  let first = (flat_workgroup(wid, nwg) * WG + lid) * VECS;
  let vecs = (params.length + 3u) / 4u;
  for (var k = 0u; k < VECS; k++) {
    let i = first + k;
    if (i >= vecs) { return; }
    average4[i] = params.decay * average4[i] + (1.0 - params.decay) * current4[i];
  }
}

// The inverse condition: when the step WAS skipped, put a region back from the copy taken
// before the step (here current4 is that copy and average4 the live region). What a skipped
// step's forward wrote into non-trainable state (batch norm's running statistics, updated
// with the batch that turned out non-finite) is undone, like the weights it never touched.
@compute @workgroup_size(WG)
fn restore_if_skipped(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (step_status[0] == 0u) { return; }
  let first = (flat_workgroup(wid, nwg) * WG + lid) * VECS;
  let vecs = (params.length + 3u) / 4u;
  for (var k = 0u; k < VECS; k++) {
    let i = first + k;
    if (i >= vecs) { return; }
    average4[i] = current4[i];
  }
}

// NaN and ±∞ by their bits (all exponent bits set): WGSL lets a compiler assume floats are
// finite, so a test like x != x may be folded away.
fn non_finite4(v: vec4<f32>) -> bool {
  return any((bitcast<vec4<u32>>(v) & vec4(0x7f800000u)) == vec4(0x7f800000u));
}

// Flags status[0] when any of the region's params.length values (as vec4s, padding zero)
// is not finite; VECS vec4s per invocation.
@compute @workgroup_size(WG)
fn check_finite4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let first = (flat_workgroup(wid, nwg) * WG + lid) * VECS;
  let vecs = (params.length + 3u) / 4u;
  var bad = false;
  for (var k = 0u; k < VECS; k++) {
    let i = first + k;
    if (i < vecs && non_finite4(values4[i])) { bad = true; }
  }
  if (bad) { atomicOr(&status[0], 1u); }
}

// The same for a few scalars (a loss): params.length values, one invocation each.
@compute @workgroup_size(WG)
fn check_finite(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_workgroup(wid, nwg) * WG + lid;
  if (i < params.length && non_finite4(vec4(values[i]))) { atomicOr(&status[0], 1u); }
}

// report[params.length] = 1 when the guard flagged this step, else 0 (one invocation):
// the flag travels home in the step's one readback.
@compute @workgroup_size(1)
fn finite_report() {
  report[params.length] = select(0.0, 1.0, atomicLoad(&status[0]) != 0u);
}

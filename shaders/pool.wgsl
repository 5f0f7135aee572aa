// Average and max pooling over H and W of an NHWC tensor, with TensorFlow's SAME/VALID
// padding. Padded positions are not counted: each average covers only the input elements
// inside its window (TF's avg_pool does the same), so border outputs are means of fewer
// values; a max is taken over those elements only (as if padded with -inf).

struct Params {
  n: u32,            // batch
  h: u32, w: u32, c: u32,
  out_h: u32, out_w: u32,
  size_h: u32, size_w: u32,
  stride_h: u32, stride_w: u32,
  pad_top: u32, pad_left: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;
// avg pool: channels per invocation (1, or 4 when c % 4 == 0): the index divisions and the
// window walk are paid once per four channels.
override VEC_C: bool = false;

// The clipped input range [lo, hi) that output position o covers along one axis.
fn window(o: u32, stride: u32, pad: u32, size: u32, extent: u32) -> vec2<u32> {
  let start = i32(o * stride) - i32(pad);
  let lo = u32(max(start, 0));
  let hi = u32(clamp(start + i32(size), 0, i32(extent)));
  return vec2<u32>(lo, max(lo, hi));
}

fn count_in(r: vec2<u32>) -> u32 {
  return r.y - r.x;
}

@compute @workgroup_size(WG)
fn avg_pool_forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = (flat_workgroup(wid, nwg) * WG + lid) * select(1u, 4u, VEC_C);
  if (t >= params.n * params.out_h * params.out_w * params.c) { return; }
  let q = nhwc_of(t, params.out_h, params.out_w, params.c);
  let b = q.x; let oh = q.y; let ow = q.z; let ch = q.w;
  let rows = window(oh, params.stride_h, params.pad_top, params.size_h, params.h);
  let cols = window(ow, params.stride_w, params.pad_left, params.size_w, params.w);
  var s = vec4<f32>(0.0);
  for (var i = rows.x; i < rows.y; i++) {
    for (var j = cols.x; j < cols.y; j++) {
      let k = ((b * params.h + i) * params.w + j) * params.c + ch;
      var v = vec4<f32>(x[k], 0.0, 0.0, 0.0);
      if (VEC_C) { v = vec4<f32>(v.x, x[k + 1u], x[k + 2u], x[k + 3u]); }
      s += v;
    }
  }
  let count = count_in(rows) * count_in(cols);
  // SAME and VALID never give an empty window; the guard only keeps the division finite.
  let mean = select(vec4<f32>(0.0), s / f32(count), count > 0u);
  out[t] = mean.x;
  if (VEC_C) { out[t + 1u] = mean.y; out[t + 2u] = mean.z; out[t + 3u] = mean.w; }
}

// First and one-past-last output positions whose window holds input position i.
fn outputs_covering(i: u32, stride: u32, pad: u32, size: u32, out_extent: u32) -> vec2<u32> {
  let p = i32(i + pad);
  // o·stride ≤ p < o·stride + size  ⇔  (p − size)/stride < o ≤ p/stride
  let lo = max(0, (p - i32(size)) / i32(stride) + 1);
  let lo_fixed = select(lo, 0, p - i32(size) < 0);
  let hi = min(i32(out_extent), p / i32(stride) + 1);
  return vec2<u32>(u32(lo_fixed), u32(max(lo_fixed, hi)));
}

@compute @workgroup_size(WG)
fn avg_pool_backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = (flat_workgroup(wid, nwg) * WG + lid) * select(1u, 4u, VEC_C);
  if (t >= params.n * params.h * params.w * params.c) { return; }
  let q = nhwc_of(t, params.h, params.w, params.c);
  let b = q.x; let ih = q.y; let iw = q.z; let ch = q.w;
  let rows = outputs_covering(ih, params.stride_h, params.pad_top, params.size_h, params.out_h);
  let cols = outputs_covering(iw, params.stride_w, params.pad_left, params.size_w, params.out_w);
  var g = vec4<f32>(0.0);
  for (var oh = rows.x; oh < rows.y; oh++) {
    let nr = count_in(window(oh, params.stride_h, params.pad_top, params.size_h, params.h));
    for (var ow = cols.x; ow < cols.y; ow++) {
      let nc = count_in(window(ow, params.stride_w, params.pad_left, params.size_w, params.w));
      let k = ((b * params.out_h + oh) * params.out_w + ow) * params.c + ch;
      var d = vec4<f32>(dy[k], 0.0, 0.0, 0.0);
      if (VEC_C) { d = vec4<f32>(d.x, dy[k + 1u], dy[k + 2u], dy[k + 3u]); }
      g += d / f32(nr * nc);
    }
  }
  out[t] = g.x;
  if (VEC_C) { out[t + 1u] = g.y; out[t + 2u] = g.z; out[t + 3u] = g.w; }
}

// avg_pool_backward where the windows tile the input exactly (stride = size, no padding,
// h = out_h·size_h, w = out_w·size_w: the transitions' 2×2 stride-2 pools on even maps):
// each input element is in one full window, so its gradient is that window's dy / count,
// read directly. The general kernel walks the covering windows with per-element divisions
// and loops: 3.4 ms on nano's 32×14×14×32 transition against ~1 here.
@compute @workgroup_size(WG)
fn avg_pool_backward_tiling(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = (flat_workgroup(wid, nwg) * WG + lid) * select(1u, 4u, VEC_C);
  if (t >= params.n * params.h * params.w * params.c) { return; }
  let q = nhwc_of(t, params.h, params.w, params.c);
  let k = ((q.x * params.out_h + q.y / params.size_h) * params.out_w + q.z / params.size_w) * params.c + q.w;
  // The general kernel's d / count (the same bits).
  let count = f32(params.size_h * params.size_w);
  out[t] = dy[k] / count;
  if (VEC_C) { out[t + 1u] = dy[k + 1u] / count; out[t + 2u] = dy[k + 2u] / count; out[t + 3u] = dy[k + 3u] / count; }
}

// Max pooling (TF SAME pads with -inf, so padded positions never win). The gradient of each
// output goes to the first maximum of its window in row-major order (pinned at ties).
fn window_argmax(b: u32, oh: u32, ow: u32, ch: u32) -> u32 {
  let rows = window(oh, params.stride_h, params.pad_top, params.size_h, params.h);
  let cols = window(ow, params.stride_w, params.pad_left, params.size_w, params.w);
  var best = -f32_inf();
  var at = 0xffffffffu;
  for (var i = rows.x; i < rows.y; i++) {
    for (var j = cols.x; j < cols.y; j++) {
      let k = ((b * params.h + i) * params.w + j) * params.c + ch;
      // NaN wins and sticks, so a NaN input propagates like in TF.
      if (at == 0xffffffffu || x[k] > best || (x[k] != x[k] && best == best)) {
        best = x[k];
        at = k;
      }
    }
  }
  return at;
}

@compute @workgroup_size(WG)
fn max_pool_forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  if (t >= params.n * params.out_h * params.out_w * params.c) { return; }
  let q = nhwc_of(t, params.out_h, params.out_w, params.c);
  let b = q.x; let oh = q.y; let ow = q.z; let ch = q.w;
  out[t] = x[window_argmax(b, oh, ow, ch)];
}

@compute @workgroup_size(WG)
fn max_pool_backward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_workgroup(wid, nwg) * WG + lid;
  if (t >= params.n * params.h * params.w * params.c) { return; }
  let q = nhwc_of(t, params.h, params.w, params.c);
  let b = q.x; let ih = q.y; let iw = q.z; let ch = q.w;
  let rows = outputs_covering(ih, params.stride_h, params.pad_top, params.size_h, params.out_h);
  let cols = outputs_covering(iw, params.stride_w, params.pad_left, params.size_w, params.out_w);
  var g = 0.0;
  for (var oh = rows.x; oh < rows.y; oh++) {
    for (var ow = cols.x; ow < cols.y; ow++) {
      if (window_argmax(b, oh, ow, ch) == t) {
        g += dy[((b * params.out_h + oh) * params.out_w + ow) * params.c + ch];
      }
    }
  }
  out[t] = g;
}

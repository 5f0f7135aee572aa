// Reduction over one contiguous block of axes. The input is viewed as [outer, r, inner];
// the output is [outer, chunks, inner], where each thread reduces one chunk of `r`.
// Long reductions run as several passes of bounded chunks (the host loops until
// chunks == 1): on software adapters one thread walking 16M values is far slower than
// a few thousand threads walking 4K each.

struct Params {
  outer: u32,
  r: u32,
  inner: u32,
  chunk: u32,       // values of r per thread
  chunks: u32,      // ceil(r / chunk)
  scale: f32,       // applied to the result (1/r for a mean on the last pass)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;
override OP: u32 = 0u;   // 0 sum, 1 max, 2 min
// Four consecutive inner positions per invocation (inner % 4 == 0): the index divisions
// and the loop are paid once per four outputs, as with ELEMS in elementwise.wgsl.
override VEC_I: bool = false;

fn identity() -> f32 {
  switch OP {
    case 1u: { return -f32_inf(); }   // -inf
    case 2u: { return f32_inf(); }   // +inf
    default: { return 0.0; }
  }
}

fn combine(acc: f32, v: f32) -> f32 {
  switch OP {
    case 1u: { return max(acc, v); }
    case 2u: { return min(acc, v); }
    default: { return acc + v; }
  }
}

@compute @workgroup_size(WG)
fn reduce_axis(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = (flat_workgroup(wid, nwg) * WG + lid) * select(1u, 4u, VEC_I);
  let total = params.outer * params.chunks * params.inner;
  if (t >= total) { return; }
  let i = t % params.inner;
  let c = (t / params.inner) % params.chunks;
  let o = t / (params.inner * params.chunks);
  let start = c * params.chunk;
  let stop = min(params.r, start + params.chunk);
  let base = o * params.r * params.inner + i;
  var acc = vec4<f32>(identity());
  // NaN propagates: max/min in WGSL may drop NaNs, so track them explicitly. Test the bits:
  // compilers may fold `v != v` to false (SwiftShader does).
  var nan = vec4<bool>(false);
  for (var j = start; j < stop; j++) {
    let k = base + j * params.inner;
    var v = vec4<f32>(x[k], 0.0, 0.0, 0.0);
    if (VEC_I) { v = vec4<f32>(v.x, x[k + 1u], x[k + 2u], x[k + 3u]); }
    nan = nan | ((bitcast<vec4<u32>>(v) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u));
    acc = vec4<f32>(combine(acc.x, v.x), combine(acc.y, v.y), combine(acc.z, v.z), combine(acc.w, v.w));
  }
  let r = select(acc * params.scale, vec4<f32>(f32_nan()), nan);
  out[t] = r.x;
  if (VEC_I) { out[t + 1u] = r.y; out[t + 2u] = r.z; out[t + 3u] = r.w; }
}

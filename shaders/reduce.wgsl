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
  let t = flat_workgroup(wid, nwg) * WG + lid;
  let total = params.outer * params.chunks * params.inner;
  if (t >= total) { return; }
  let i = t % params.inner;
  let c = (t / params.inner) % params.chunks;
  let o = t / (params.inner * params.chunks);
  let start = c * params.chunk;
  let stop = min(params.r, start + params.chunk);
  let base = o * params.r * params.inner + i;
  var acc = identity();
  // NaN propagates: max/min in WGSL may drop NaNs, so track them explicitly. Test the bits:
  // compilers may fold `v != v` to false (SwiftShader does).
  var nan = false;
  for (var j = start; j < stop; j++) {
    let v = x[base + j * params.inner];
    nan = nan || (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
    acc = combine(acc, v);
  }
  out[t] = select(acc * params.scale, f32_nan(), nan);
}

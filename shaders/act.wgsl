// The activations y = act(z) by KIND (KIND_RELU, KIND_GELU, …: constants the runtime
// writes from KIND_CODES in src/ops/activation.ts), shared by shaders/activation.wgsl and
// the conv kernels that apply bias + activation in their store (a fused epilogue). The
// including file declares `override KIND: u32`; this file is appended to it.

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_C: f32 = 0.044715;

// exp(-2|z|) form: never inf/inf, so tanh(±1e4) is exactly ±1 (the builtin may give NaN).
fn stable_tanh(z: f32) -> f32 {
  let e = exp(-2.0 * abs(z));
  return sign(z) * (1.0 - e) / (1.0 + e);
}

// Only ever exponentiates a non-positive number, so no overflow for large |z|.
fn stable_sigmoid(z: f32) -> f32 {
  let e = exp(-abs(z));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), z >= 0.0);
}

const INV_SQRT_2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;

// erfc(a) for a ≥ 0: the Chebyshev fit of Numerical Recipes (erfcc), relative error below
// 1.2e-7 over the whole range, so Φ's far tail keeps its relative precision too.
fn erfc_nonneg(a: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * a);
  let p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp(p - a * a);
}

// Φ(z), the standard normal CDF: 0.5·erfc(−z/√2), taken from the small side.
fn normal_cdf(z: f32) -> f32 {
  let tail = 0.5 * erfc_nonneg(abs(z) * INV_SQRT_2);
  return select(1.0 - tail, tail, z < 0.0);
}

fn act(z: f32) -> f32 {
  switch KIND {
    case KIND_RELU: { return max(z, 0.0); }
    case KIND_GELU: { return 0.5 * z * (1.0 + stable_tanh(SQRT_2_OVER_PI * (z + GELU_C * z * z * z))); }
    case KIND_SILU: { return z * stable_sigmoid(z); }
    case KIND_TANH: { return stable_tanh(z); }
    case KIND_SIGMOID: { return stable_sigmoid(z); }
    case KIND_GELU_ERF: { return z * normal_cdf(z); }
    case KIND_IDENTITY, default: { return z; }
  }
}

fn act4(z: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(act(z.x), act(z.y), act(z.z), act(z.w));
}

// A conv kernel's fused epilogue: out = EPI_GAMMA · act(acc + bias[c]) applied in its
// store, so that conv + bias + activation is one dispatch (src/ops/conv2d/fused.ts; an
// inference-only path: training records the conv and the activation as two ops). Appended,
// after shaders/act.wgsl, to a conv kernel that binds the biases as `epi_bias`
// (array<vec4<f32>>, one vec4 per four output channels; any buffer stands in without them).
// With KIND_IDENTITY, no bias and EPI_GAMMA 1 it is the plain store.
override KIND: u32 = 0u;
override HAS_BIAS: bool = false;
override EPI_GAMMA: f32 = 1.0;

// Biases of output channels 4·c4 … 4·c4 + 3 (zeros without).
fn epi_bias4(c4: u32) -> vec4<f32> {
  if (HAS_BIAS) { return epi_bias[c4]; }
  return vec4<f32>(0.0);
}

// Four channels' outputs from their accumulators and biases.
fn epilogue4(acc: vec4<f32>, bias: vec4<f32>) -> vec4<f32> {
  let z = acc + bias;
  if (KIND == KIND_IDENTITY) { return EPI_GAMMA * z; }
  return EPI_GAMMA * act4(z);
}

/**
 * A minimal ONNX model writer for the onnxruntime-web peer: just the protobuf messages and
 * fields a float32 inference graph of a few standard ops needs (ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto, ValueInfoProto), encoded by hand. Field numbers
 * are those of onnx.proto (onnx/onnx, IR version 8). Weights travel as raw little-endian
 * float32 initializers.
 */

/** Protobuf wire types. */
const VARINT = 0;
const LEN = 2;
const I32 = 5;

class Writer {
  private chunks: number[] = [];

  private varint(v: number): void {
    // Non-negative integers below 2^53 (dims, enums, lengths): 7 bits per byte.
    let n = v;
    while (n >= 0x80) {
      this.chunks.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.chunks.push(n);
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  int(field: number, v: number): this {
    if (!Number.isInteger(v) || v < 0) throw new Error(`onnx writer: varint fields take non-negative integers, got ${v}`);
    this.tag(field, VARINT);
    this.varint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, I32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.chunks.push(...b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, LEN);
    this.varint(b.length);
    for (const x of b) this.chunks.push(x);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: Writer): this {
    return this.bytes(field, m.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

/** TensorProto.DataType.FLOAT */
const FLOAT = 1;

export type AttributeValue = number | number[];

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  /** Integers (Conv's strides, pads, …) or one float; arrays are INTS. */
  attrs?: Record<string, AttributeValue | { float: number }>;
}

export interface OnnxGraph {
  nodes: OnnxNode[];
  /** Constant float32 tensors (weights), by name. */
  initializers: Record<string, { dims: number[]; data: Float32Array }>;
  inputs: { name: string; dims: number[] }[];
  outputs: { name: string; dims: number[] }[];
}

function attribute(name: string, v: AttributeValue | { float: number }): Writer {
  const a = new Writer().string(1, name);
  // AttributeProto: f = 2, i = 3, ints = 8, type = 20 (FLOAT 1, INT 2, INTS 7).
  if (typeof v === 'number') return a.int(3, v).int(20, 2);
  if (Array.isArray(v)) {
    for (const x of v) a.int(8, x);
    return a.int(20, 7);
  }
  return a.float(2, v.float).int(20, 1);
}

function valueInfo(name: string, dims: number[]): Writer {
  const shape = new Writer();
  for (const d of dims) shape.message(1, new Writer().int(1, d)); // Dimension.dim_value
  const tensorType = new Writer().int(1, FLOAT).message(2, shape); // elem_type, shape
  return new Writer().string(1, name).message(2, new Writer().message(1, tensorType)); // TypeProto.tensor_type
}

/** Serialise a float32 graph as an ONNX ModelProto (IR version 8, default-domain opset `opset`). */
export function onnxModel(graph: OnnxGraph, opset = 17): Uint8Array {
  const g = new Writer();
  for (const [i, n] of graph.nodes.entries()) {
    const node = new Writer();
    for (const x of n.inputs) node.string(1, x);
    for (const y of n.outputs) node.string(2, y);
    node.string(3, `${n.op.toLowerCase()}_${i}`).string(4, n.op);
    for (const [k, v] of Object.entries(n.attrs ?? {})) node.message(5, attribute(k, v));
    g.message(1, node);
  }
  g.string(2, 'bench');
  for (const [name, t] of Object.entries(graph.initializers)) {
    const tensor = new Writer();
    for (const d of t.dims) tensor.int(1, d);
    tensor.int(2, FLOAT).string(8, name);
    tensor.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)); // raw_data, little-endian
    g.message(5, tensor);
  }
  for (const x of graph.inputs) g.message(11, valueInfo(x.name, x.dims));
  for (const y of graph.outputs) g.message(12, valueInfo(y.name, y.dims));
  return new Writer()
    .int(1, 8) // ir_version
    .string(2, 'nfnet-webgpu-bench') // producer_name
    .message(7, g) // graph
    .message(8, new Writer().string(1, '').int(2, opset)) // opset_import
    .finish();
}

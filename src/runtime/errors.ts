/**
 * Typed errors. Every bad input is rejected on the CPU, before any GPU work, with a message
 * that says what was expected and what was given. GPU-side failures (validation, out of
 * memory, device loss) are converted into the same family so callers catch one base class.
 */
export class NfnetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit together (mismatch, bad broadcast, wrong rank). */
export class ShapeError extends NfnetError {}
/** A tensor of the wrong element type. */
export class DTypeError extends NfnetError {}
/** An option or argument outside its allowed range (axis, seed, stride, …) or of the wrong type. */
export class ValueError extends NfnetError {}
/**
 * A request beyond what the device can do (a buffer over maxBufferSize or
 * maxStorageBufferBindingSize), refused before anything is allocated or dispatched.
 */
export class LimitError extends ValueError {}
/** A file that is missing, unreadable, or a folder where a file was expected. */
export class FileError extends NfnetError {}
/** A tensor used after `dispose()`. */
export class DisposedError extends NfnetError {}
/** No usable WebGPU adapter or device, or the runtime was not initialised. */
export class DeviceError extends NfnetError {}
/** The device was lost (driver reset, `destroy()`, out of resources). */
export class DeviceLostError extends DeviceError {}
/**
 * A kernel or option that needs an optional device feature (e.g. 'subgroups') on a device
 * created without it, refused before anything is dispatched.
 */
export class FeatureError extends DeviceError {}
/** WGSL that fails to compile, or a kernel whose bindings do not match what the op binds. */
export class KernelError extends NfnetError {}
/** A WebGPU validation error caught by an error scope. */
export class GPUValidationFailure extends NfnetError {}
/** A WebGPU out-of-memory error caught by an error scope. */
export class GPUOutOfMemory extends NfnetError {}
/** A NaN or ±∞ found by the opt-in numerics check (init({ checkNumerics: true })), naming the op that made it. */
export class NumericsError extends NfnetError {}

export function describeShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

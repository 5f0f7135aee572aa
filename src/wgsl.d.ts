/** WGSL shader sources are embedded as strings by the bundler (esbuild `text` loader, vitest plugin). */
declare module '*.wgsl' {
  const source: string;
  export default source;
}

declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}

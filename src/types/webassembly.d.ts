// The part of the WebAssembly JS API that codellama-ts uses. @types/node does not declare it and
// lib.dom would bring in the whole browser; these signatures follow the WebAssembly JS API spec.
declare namespace WebAssembly {
  type BufferSource = ArrayBufferView | ArrayBuffer;
  interface MemoryDescriptor { initial: number; maximum?: number; shared?: boolean }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
    grow(delta: number): number;
  }
  class Module {
    constructor(bytes: BufferSource);
  }
  type ImportValue = Memory | ((...args: any[]) => any) | number;
  type Imports = Record<string, Record<string, ImportValue>>;
  type Exports = Record<string, unknown>;
  class Instance {
    constructor(module: Module, importObject?: Imports);
    readonly exports: Exports;
  }
  function validate(bytes: BufferSource): boolean;
  function compile(bytes: BufferSource): Promise<Module>;
}

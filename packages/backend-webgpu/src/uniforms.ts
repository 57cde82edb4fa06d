/** Scalar types a uniform block may hold; every field is 4 bytes, so offsets are `4 * index`. */
export type UniformType = 'u32' | 'f32';

/** A uniform block described once: the WGSL struct and the byte packing both come from this list. */
export interface UniformBlock<K extends string> {
  readonly fields: readonly (readonly [K, UniformType])[];
  /** Bytes, padded to 16 (a uniform buffer binding's size must be a multiple of 16). */
  readonly byteSize: number;
  /** The WGSL `struct` declaration named `name`. */
  wgsl(name: string): string;
  /** Packs values (u32 fields must be integers in [0, 2^32)) into a fresh buffer of `byteSize` bytes. */
  pack(values: Readonly<Record<K, number>>): ArrayBuffer;
}

/** Declares a uniform block of 4-byte scalars. */
export function uniformBlock<K extends string>(fields: readonly (readonly [K, UniformType])[]): UniformBlock<K> {
  const padded = Math.ceil(Math.max(fields.length, 1) / 4) * 4;
  return {
    fields,
    byteSize: padded * 4,
    wgsl(name) {
      const lines = fields.map(([k, t]) => `  ${k}: ${t},`);
      for (let i = fields.length; i < padded; i++) lines.push(`  _pad${i}: u32,`);
      return `struct ${name} {\n${lines.join('\n')}\n}`;
    },
    pack(values) {
      const buffer = new ArrayBuffer(padded * 4);
      const u = new Uint32Array(buffer);
      const f = new Float32Array(buffer);
      fields.forEach(([k, t], i) => {
        const v = values[k];
        if (t === 'f32') f[i] = v;
        else {
          // A silently wrapped size would index the wrong elements; sizes are checked before this.
          if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`uniform ${k} = ${v} is not a u32`);
          u[i] = v;
        }
      });
      return buffer;
    },
  };
}

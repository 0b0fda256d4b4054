// The seeded stream of the data layer: shuffles and the built-in synthetic world. Its bits
// come from the library's one xoshiro128** (@aitm/tensor's Generator); what differs, and why
// this class exists, is its seeding (a hash of the seed per state word, for mixSeeds-derived
// seeds) and its 32-bit floats: every built-in world, committed run and AUC in the READMEs was
// drawn with them, so they stay as they are.

import { Generator } from '@aitm/tensor';

/** MurmurHash3's fmix32 finalizer: a bijective, well-mixed 32-bit hash (unsigned result). */
export function hash32(x: number): number {
  let z = x | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

const GOLDEN = 0x9e3779b9;

/** Combines several integers into one 32-bit seed (order matters), e.g. (worldSeed, salt). */
export function mixSeeds(...parts: number[]): number {
  let h = 0x243f6a88;
  for (const p of parts) h = hash32(h + GOLDEN + hash32(p));
  return h;
}

/**
 * xoshiro128** (Blackman & Vigna, 2018; the bits of @aitm/tensor's Generator): period
 * 2^128 - 1, passes BigCrush; plenty for shuffles and simulation (not cryptographic). State
 * word k is hash32(seed + (k+1) * golden ratio), so nearby seeds give unrelated streams; the
 * forbidden all-zero state is guarded against.
 */
export class Rng {
  private bits: Generator;
  private spareNormal = NaN;

  /** Only the low 32 bits of `seed` are used. */
  constructor(seed: number) {
    const x = seed | 0;
    const s = [1, 2, 3, 4].map((k) => hash32(x + k * GOLDEN));
    if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1;
    this.bits = Generator.fromState(s[0]!, s[1]!, s[2]!, s[3]!);
  }

  /** Generator with an explicit state (for checking against the reference implementation). */
  static fromState(s0: number, s1: number, s2: number, s3: number): Rng {
    const r = new Rng(0);
    r.bits = Generator.fromState(s0, s1, s2, s3);
    return r;
  }

  /** Next uniform 32-bit unsigned integer. */
  nextU32(): number {
    return this.bits.nextU32();
  }

  /** Uniform float in [0, 1) with 32 random bits. */
  float(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n) for 0 < n <= 2^32 (multiply-shift; bias below 2^-32 * n, negligible here). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Standard normal draw (Box-Muller; the second value of each pair is cached). */
  normal(): number {
    if (!Number.isNaN(this.spareNormal)) {
      const v = this.spareNormal;
      this.spareNormal = NaN;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.float(); // log(0) guard
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * this.float();
    this.spareNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: number }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = a[i];
      a[i] = a[j];
      a[j] = tmp;
    }
    return a;
  }
}

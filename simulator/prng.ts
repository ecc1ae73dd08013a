/**
 * A seeded pseudo-random generator (sfc32, seeded through splitmix32), so that a district
 * and a run are the same for the same `--seed`. `fork(label)` gives an independent stream
 * per purpose: the responders do not change when the device count does.
 */

export interface Rng {
  /** A float in [0, 1). */
  next(): number
  /** An integer in [lo, hi], inclusive. */
  int(lo: number, hi: number): number
  /** A float in [lo, hi). */
  range(lo: number, hi: number): number
  /** True with probability p. */
  chance(p: number): boolean
  pick<T>(items: readonly T[]): T
  /** A key of `weights`, chosen with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K
  /** A standard normal variate (Box–Muller). */
  normal(): number
  /** Shuffle in place (Fisher–Yates) and return the array. */
  shuffle<T>(items: T[]): T[]
  /** An independent generator for one purpose, derived from this one's seed and `label`. */
  fork(label: string): Rng
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

/** FNV-1a of a string: labels and string seeds to 32 bits. */
export function hash32(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

export function createRng(seed: number | string): Rng {
  const base = typeof seed === 'number' ? seed >>> 0 : hash32(seed)
  const init = splitmix32(base)
  let a = init()
  let b = init()
  let c = init()
  let d = init()
  const u32 = () => {
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) >>> 0
    return t
  }
  for (let i = 0; i < 12; i++) u32()
  const next = () => u32() / 4294967296
  let spare: number | undefined

  const rng: Rng = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    range: (lo, hi) => lo + next() * (hi - lo),
    chance: (p) => next() < p,
    pick(items) {
      if (items.length === 0) throw new Error('pick from an empty list')
      return items[Math.floor(next() * items.length)]!
    },
    weighted(weights) {
      const entries = Object.entries(weights) as [string, number][]
      const total = entries.reduce((s, [, w]) => s + w, 0)
      let x = next() * total
      for (const [k, w] of entries) {
        x -= w
        if (x < 0) return k as never
      }
      return entries[entries.length - 1]![0] as never
    },
    normal() {
      if (spare !== undefined) {
        const s = spare
        spare = undefined
        return s
      }
      let u = 0
      while (u === 0) u = next()
      const v = next()
      const r = Math.sqrt(-2 * Math.log(u))
      spare = r * Math.sin(2 * Math.PI * v)
      return r * Math.cos(2 * Math.PI * v)
    },
    shuffle(items) {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1))
        ;[items[i], items[j]] = [items[j]!, items[i]!]
      }
      return items
    },
    fork: (label) => createRng((base ^ hash32(label)) >>> 0),
  }
  return rng
}

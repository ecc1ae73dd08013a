/**
 * The dispatch policy as a pure function: whom an incident is offered to (docs/PROTOCOL.md
 * "Default dispatch policy"), and which answers a responder may give in which state.
 */
import { describe, expect, it } from 'vitest'
import {
  answerOffer,
  type Candidate,
  chooseResponders,
  DEFAULT_POLICY,
  dispatchPolicy,
  dispatchTimings,
} from '../../services/dispatch/policy.ts'
import type { Answer, OfferState } from '../../services/dispatch/types.ts'

const c = (
  id: string,
  type: Candidate['type'],
  eta_s: number,
  extra: Partial<Candidate> = {},
): Candidate => ({
  id,
  type,
  mode: 'foot',
  eta_s,
  distance_m: eta_s * 1.4,
  inside: eta_s <= 300,
  ...extra,
})

/** A crowd around one incident in building b-1. */
const crowd: Candidate[] = [
  c('ms-far', 'micro_station', 290, { mode: 'motor' }),
  c('ms-near', 'micro_station', 150, { mode: 'motor' }),
  c('fs-1', 'fire_station', 280, { mode: 'motor' }),
  c('g-1', 'grid_staff', 100),
  c('g-2', 'grid_staff', 120),
  c('g-3', 'grid_staff', 130),
  c('g-4', 'grid_staff', 140),
  c('g-5', 'grid_staff', 250),
  c('v-1', 'volunteer', 200, { mode: 'bicycle' }),
  c('v-2', 'volunteer', 210, { mode: 'bicycle' }),
  c('guard-own-in', 'security_guard', 60, { building: 'b-1' }),
  c('guard-own-out', 'security_guard', 420, { building: 'b-1' }),
  c('guard-other', 'security_guard', 70, { building: 'b-2' }),
  c('guard-none', 'security_guard', 80),
  c('ms-out', 'micro_station', 320, { mode: 'motor' }),
  c('g-out', 'grid_staff', 310),
]

const ids = (list: Candidate[]) => list.map((x) => x.id)

describe('chooseResponders', () => {
  const cases: {
    name: string
    candidates: Candidate[]
    policy?: Parameters<typeof dispatchPolicy>[0]
    building?: string
    quota?: Partial<Record<Candidate['type'], number>>
    expected: string[]
  }[] = [
    {
      name: 'default policy: every micro/fire station inside, nearest three grid staff and volunteers, the building’s guards wherever they are; nearest ETA first',
      candidates: crowd,
      building: 'b-1',
      expected: [
        'guard-own-in',
        'g-1',
        'g-2',
        'g-3',
        'ms-near',
        'v-1',
        'v-2',
        'fs-1',
        'ms-far',
        'guard-own-out',
      ],
    },
    {
      name: 'no building: no guard at all',
      candidates: crowd,
      expected: ['g-1', 'g-2', 'g-3', 'ms-near', 'v-1', 'v-2', 'fs-1', 'ms-far'],
    },
    {
      name: 'nobody inside, the building guard outside is still offered',
      candidates: [c('ms-out', 'micro_station', 320), c('guard', 'security_guard', 500, { building: 'b-1' })],
      building: 'b-1',
      expected: ['guard'],
    },
    {
      name: 'the nearest count is configurable, and a type can be switched off',
      candidates: crowd,
      policy: { grid_staff: { select: 'nearest', count: 1 }, volunteer: { select: 'none' } },
      building: 'b-1',
      expected: ['guard-own-in', 'g-1', 'ms-near', 'fs-1', 'ms-far', 'guard-own-out'],
    },
    {
      name: 'all grid staff inside when the policy says all (never the one outside)',
      candidates: crowd.filter((x) => x.type === 'grid_staff'),
      policy: { grid_staff: { select: 'all' } },
      expected: ['g-1', 'g-2', 'g-3', 'g-4', 'g-5'],
    },
    {
      name: 'a quota overrides the count (moving on after a decline: one more)',
      candidates: crowd.filter((x) => x.type === 'grid_staff'),
      quota: { grid_staff: 1 },
      expected: ['g-1'],
    },
    {
      name: 'ties on ETA go by id; a candidate listed twice counts once',
      candidates: [c('g-b', 'grid_staff', 100), c('g-a', 'grid_staff', 100), c('g-a', 'grid_staff', 100)],
      expected: ['g-a', 'g-b'],
    },
    {
      name: 'guards can be offered like micro stations when the policy says so',
      candidates: crowd.filter((x) => x.type === 'security_guard'),
      policy: { security_guard: { select: 'all' } },
      building: 'b-1',
      expected: ['guard-own-in', 'guard-other', 'guard-none'],
    },
    { name: 'an empty crowd', candidates: [], building: 'b-1', expected: [] },
  ]

  for (const t of cases) {
    it(t.name, () => {
      const chosen = chooseResponders(t.candidates, dispatchPolicy(t.policy), {
        ...(t.building !== undefined ? { building: t.building } : {}),
        ...(t.quota !== undefined ? { quota: t.quota } : {}),
      })
      expect(ids(chosen)).toEqual(t.expected)
      for (let k = 1; k < chosen.length; k++)
        expect(chosen[k]!.eta_s).toBeGreaterThanOrEqual(chosen[k - 1]!.eta_s)
    })
  }

  it('does not reorder or change its input', () => {
    const copy = structuredClone(crowd)
    chooseResponders(crowd, DEFAULT_POLICY, { building: 'b-1' })
    expect(crowd).toEqual(copy)
  })
})

describe('answerOffer', () => {
  const table: [OfferState, Answer, OfferState | 'refused' | 'repeat'][] = [
    ['offered', 'accept', 'accepted'],
    ['offered', 'decline', 'declined'],
    ['offered', 'en_route', 'refused'],
    ['offered', 'on_scene', 'refused'],
    ['no_answer', 'accept', 'accepted'],
    ['no_answer', 'decline', 'declined'],
    ['no_answer', 'en_route', 'refused'],
    ['no_answer', 'on_scene', 'refused'],
    ['accepted', 'accept', 'repeat'],
    ['accepted', 'en_route', 'en_route'],
    ['accepted', 'on_scene', 'on_scene'],
    ['accepted', 'decline', 'declined'],
    ['en_route', 'en_route', 'repeat'],
    ['en_route', 'on_scene', 'on_scene'],
    ['en_route', 'accept', 'repeat'],
    ['en_route', 'decline', 'declined'],
    ['on_scene', 'on_scene', 'repeat'],
    ['on_scene', 'en_route', 'refused'],
    ['on_scene', 'decline', 'refused'],
    ['on_scene', 'accept', 'repeat'],
    ['declined', 'decline', 'repeat'],
    ['declined', 'accept', 'refused'],
    ['declined', 'on_scene', 'refused'],
    ['withdrawn', 'accept', 'refused'],
    ['withdrawn', 'on_scene', 'refused'],
  ]
  for (const [from, answer, expected] of table) {
    it(`${from} + ${answer} → ${expected}`, () => {
      const r = answerOffer(from, answer)
      if (expected === 'refused') {
        expect(r.ok).toBe(false)
        if (!r.ok) expect(r.message).not.toBe('')
      } else if (expected === 'repeat') {
        expect(r).toMatchObject({ ok: true, repeated: true })
      } else {
        expect(r).toEqual({ ok: true, to: expected, repeated: false })
      }
    })
  }
  it('says why on_scene without accept is refused', () => {
    expect(answerOffer('offered', 'on_scene')).toEqual({
      ok: false,
      message: 'on_scene needs an accepted offer, not offered',
    })
  })
})

describe('settings', () => {
  it('refuses a policy or timings that make no sense, naming them', () => {
    expect(() => dispatchPolicy({ grid_staff: { select: 'nearest', count: 0 } })).toThrow(
      /grid_staff nearest count/,
    )
    expect(() => dispatchPolicy({ janitor: { select: 'all' } } as never)).toThrow(
      /"janitor" is not a responder type/,
    )
    expect(() => dispatchTimings({ limitsS: [300, 200] })).toThrow(/increasing/)
    expect(() => dispatchTimings({ offerTimeoutMs: 0 })).toThrow(/offerTimeoutMs/)
    expect(dispatchTimings()).toEqual({
      offerTimeoutMs: 30_000,
      widenAfterMs: 60_000,
      limitsS: [300, 450, 600],
    })
  })
})

/**
 * Where a duty check or a shift sits in the command structure (district ⊃ street ⊃ community),
 * and who is one level up. Pure functions over the registry's communities and officers.
 */
import { formatScope, type Officer, type OfficerScope, parseScope } from '../registry/index.ts'
import { invalidInput } from '../shared/index.ts'

export interface Directory {
  community(id: string): { id: string; street: string } | undefined
  communities(): { id: string; street: string }[]
  officers(): Officer[]
}

/** A checked place: the scope as written (normalised) with its community and street. */
export interface CheckedPlace {
  scope: string
  level: OfficerScope['level']
  community?: string
  street?: string
}

/** The written scope as a registered place; DomainError invalid_input when it is none. */
export function placeOf(written: string, dir: Directory): CheckedPlace {
  const s = parseScope(written)
  if ('error' in s) throw invalidInput(s.error)
  if (s.level === 'district') return { scope: 'district', level: 'district' }
  if (s.level === 'community') {
    const c = dir.community(s.community)
    if (c === undefined) throw invalidInput(`scope ${written}: community ${s.community} is not registered`)
    return { scope: formatScope(s), level: 'community', community: c.id, street: c.street }
  }
  if (!dir.communities().some((c) => c.street === s.street))
    throw invalidInput(`scope ${written}: no registered community lies in street ${s.street}`)
  return { scope: formatScope(s), level: 'street', street: s.street }
}

/** True when `inner` lies inside `outer` (or is it). */
export function within(outer: OfficerScope, inner: CheckedPlace): boolean {
  switch (outer.level) {
    case 'district':
      return true
    case 'street':
      return inner.level !== 'district' && inner.street === outer.street
    case 'community':
      return inner.level === 'community' && inner.community === outer.community
  }
}

/** True when `outer` is strictly wider than `inner` and holds it: who may send a check. */
export function widerThan(outer: OfficerScope, inner: CheckedPlace): boolean {
  return within(outer, inner) && formatScope(outer) !== inner.scope
}

/** The officers whose scope is exactly the place's: the checked officers. */
export function officersOf(place: { scope: string }, dir: Directory): string[] {
  return dir
    .officers()
    .filter((o) => o.scope === place.scope)
    .map((o) => o.id)
}

/** The scope one level up (street for a community, district for a street; none above the district). */
export function levelUp(place: CheckedPlace): string | undefined {
  if (place.level === 'community') return `street:${place.street}`
  if (place.level === 'street') return 'district'
  return undefined
}

/** The place of an officer's own scope. */
export function placeOfScope(scope: OfficerScope, dir: Directory): CheckedPlace {
  if (scope.level === 'community') {
    const street = dir.community(scope.community)?.street
    return {
      scope: formatScope(scope),
      level: 'community',
      community: scope.community,
      ...(street !== undefined ? { street } : {}),
    }
  }
  if (scope.level === 'street') return { scope: formatScope(scope), level: 'street', street: scope.street }
  return { scope: 'district', level: 'district' }
}

/**
 * A duty officer's scope ([docs/PROTOCOL.md §Who may call]): the district, one street, or one
 * community. Pure functions: parse the written form, and decide whether a place is inside.
 */
import type { OfficerScope } from './types.ts'

/** The written scope as a structure, or a reason why it is not one. */
export function parseScope(written: string): OfficerScope | { error: string } {
  if (written === 'district') return { level: 'district' }
  const colon = written.indexOf(':')
  const level = colon < 0 ? written : written.slice(0, colon)
  const name = colon < 0 ? '' : written.slice(colon + 1).trim()
  if (level === 'street' || level === 'community') {
    if (name === '') return { error: `scope "${written}" names no ${level} (write "${level}:<name>")` }
    return level === 'street' ? { level, street: name } : { level, community: name }
  }
  return { error: `scope must be "district", "street:<name>" or "community:<id>", not "${written}"` }
}

export function formatScope(scope: OfficerScope): string {
  switch (scope.level) {
    case 'district':
      return 'district'
    case 'street':
      return `street:${scope.street}`
    case 'community':
      return `community:${scope.community}`
  }
}

/** Where a thing sits in the command structure; a responder with no place has neither. */
export interface Place {
  community?: string
  street?: string
}

export function inScope(scope: OfficerScope, place: Place): boolean {
  switch (scope.level) {
    case 'district':
      return true
    case 'street':
      return place.street !== undefined && place.street === scope.street
    case 'community':
      return place.community !== undefined && place.community === scope.community
  }
}

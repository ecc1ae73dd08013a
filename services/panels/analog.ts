/**
 * Component analog values (type 3) as telemetry of the UITD, under the catalogue's value names
 * where one fits. The analog type codes and their resolutions are GB/T 26875.3's table as the
 * implementations transcribe it (GB26875.md does not list them): 3 temperature 0.1 °C, 4
 * pressure 0.1 MPa, 5 pressure 0.1 kPa, 6 gas 0.1 %LEL, 9 current 0.1 A (an electrical fire
 * monitor's residual current, component type 17, in mA). Other analog types are not kept.
 */
import type { ValueName } from '../../devices/catalogue.ts'
import type { ComponentAnalog } from './adu.ts'

const SCALE: Readonly<Record<number, { name: ValueName; factor: number } | undefined>> = {
  3: { name: 'temperature', factor: 0.1 },
  4: { name: 'pressure', factor: 0.1 },
  5: { name: 'pressure', factor: 0.0001 },
  6: { name: 'lel', factor: 0.1 },
  9: { name: 'residual_current', factor: 100 },
}

/** The value a type-3 object gives, or undefined when firecircle has no name for it. */
export function analogValue(o: ComponentAnalog): { name: ValueName; value: number } | undefined {
  const s = SCALE[o.analog]
  if (s === undefined) return undefined
  if (s.name === 'residual_current' && o.component !== 17) return undefined
  // Rounded to the resolution: 0.1 × 231 is 23.1, not 23.100000000000001.
  return { name: s.name, value: Math.round(o.value * s.factor * 10_000) / 10_000 }
}

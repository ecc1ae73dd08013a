/**
 * Request validation with TypeBox's compiled checks. Bodies are checked as sent (JSON has
 * types: "5" is not 5). Query strings and path parameters are text, so a field declared as
 * integer, number or boolean is converted first, strictly: `limit=1.5`, `limit=`, `0x10`
 * or `onDuty=yes` stay text and fail validation with a message naming the field, where a
 * lenient conversion would quietly read 1, 0, 16 or true.
 */
import type { FastifySchemaCompiler } from 'fastify'
import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'

const INTEGER = /^-?\d{1,15}$/
const NUMBER = /^-?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?$/

function convert(type: unknown, text: string): unknown {
  if (type === 'integer') return INTEGER.test(text) ? Number(text) : text
  if (type === 'number') return NUMBER.test(text) ? Number(text) : text
  if (type === 'boolean') return text === 'true' ? true : text === 'false' ? false : text
  return text
}

/** For a flat object schema (query, params): a function converting its declared scalars. */
function converterFor(schema: TSchema): ((value: unknown) => unknown) | undefined {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties
  if (properties === undefined) return undefined
  const typed = Object.entries(properties).filter(
    ([, s]) => s.type === 'integer' || s.type === 'number' || s.type === 'boolean',
  )
  if (typed.length === 0) return undefined
  return (value) => {
    if (typeof value !== 'object' || value === null) return value
    const out: Record<string, unknown> = { ...(value as Record<string, unknown>) }
    for (const [name, s] of typed) {
      const v = out[name]
      if (typeof v === 'string') out[name] = convert(s.type, v)
    }
    return out
  }
}

export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = Compile(schema)
  const converter = httpPart === 'body' ? undefined : converterFor(schema)
  return (value: unknown) => {
    const v = converter ? converter(value) : value
    if (check.Check(v)) return { value: v }
    return { error: check.Errors(v) as never }
  }
}

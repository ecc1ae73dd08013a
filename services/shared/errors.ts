/**
 * Domain errors carry a code; the API maps them to an HTTP status and `{error, message}`
 * in one place (services/api/errors.ts).
 */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'unprocessable'
  | 'unavailable'

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'DomainError'
  }
}

export const badRequest = (message: string) => new DomainError('bad_request', message)
export const notFound = (message: string) => new DomainError('not_found', message)
export const conflict = (message: string) => new DomainError('conflict', message)
export const forbidden = (message: string) => new DomainError('forbidden', message)

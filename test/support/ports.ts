export { freePort } from '../../tools/ports.ts'

/**
 * access/ — client address allow/deny lists (pure: no node:*, no pino, no relay/). Compiled once at config
 * load into sorted disjoint ranges; looked up per connection by the address bytes with a binary search.
 *
 *   cidr.ts  compileAccessList, checkAccess, AccessVerdict, CidrError
 *
 * Not wired yet: the relay consults nothing here today (README "Edge policy building blocks").
 */
export {
  AccessList, AccessVerdict, checkAccess, checkAccessText, CidrError, compileAccessList, type CidrListError,
} from './cidr.ts'

/**
 * access/ — client address allow/deny lists (pure: no node:*, no pino, no relay/). Compiled once at config
 * load into sorted disjoint ranges; looked up per connection by the address bytes with a binary search.
 *
 *   cidr.ts  compileAccessList, checkAccess, AccessVerdict, CidrError
 *
 * Compiled by config/access.ts at load, consulted by relay/policy.ts after routing and relay/proxy-in.ts for a listen
 * address's trusted balancers (README "Access lists and JA4").
 */
export {
  AccessList, AccessVerdict, checkAccess, checkAccessText, CidrError, compileAccessList, type CidrListError,
} from './cidr.ts'

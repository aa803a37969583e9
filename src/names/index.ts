/**
 * names/ — the host-name rule shared by every part of hellogate that reads or writes a name (PURE: no
 * node:*, no imports from other folders). hello/ validates SNI bytes with it, routes/ normalises patterns
 * and folds looked-up bytes with it, config/ checks origin host names with it; the rule, its limits and
 * the reasons for them are in host-name.ts, and test/property/names-agree.test.ts keeps the users in step.
 */
export {
  /** Validate name bytes: the end to match on (one trailing dot excluded) or a negative NameStatus. */
  checkHostName,
  /** checkHostName over a string (config time): the end index in the string or a negative NameStatus. */
  checkHostNameText,
  /** 0 when the range is dot-separated labels of 1..63 label bytes, else a negative NameStatus. */
  checkLabels,
  /** A NameStatus as words for config error messages. */
  describeNameStatus,
  /** Byte → lower-case label byte, 0 for bytes that may not appear in a label. */
  NAME_FOLD,
  /** Why a name is refused. */
  NameStatus,
  /** 63: longest label (RFC 1035 §2.3.4). */
  MAX_LABEL_LENGTH,
  /** 253: longest name without its trailing dot (RFC 1035 §2.3.4). */
  MAX_NAME_LENGTH,
} from './host-name.ts'

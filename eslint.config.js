import neostandard from 'neostandard'

const pureLayers = ['node:*', 'pino', 'piscina', '**/relay/**', '**/pool/**', '**/log/**', '**/config/**']

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'coverage/**', 'bench/results/**', 'profiles/**/*.html'] }),
  {
    rules: {
      '@stylistic/comma-dangle': ['error', 'always-multiline'],
      // `export const X = {...} as const; export type X = ...` is the codebase's enum idiom
      '@typescript-eslint/no-redeclare': 'off',
    },
  },
  {
    // hello/, routes/ and proxyproto/ are pure codecs (rustls msgs/, Go cryptobyte): bytes in, offsets and codes out.
    // names/ (the host-name rule hello/ and routes/ apply) is pure in the same way. hello/ and routes/ may import
    // names/ (it is not in pureLayers); names/ imports neither (next block), so the rule has no way back.
    // fingerprint/ (JA4 from hello bytes) and access/ (CIDR allow/deny sets) are edge-policy codecs of the same kind.
    files: [
      'src/hello/**/*.ts', 'src/routes/**/*.ts', 'src/names/**/*.ts', 'src/proxyproto/**/*.ts',
      'src/fingerprint/**/*.ts', 'src/access/**/*.ts', 'src/quic/**/*.ts',
      // http/head.ts reads an HTTP/1.x request head the way hello/ reads a ClientHello; forward/fence.ts decides
      // which resolved addresses forward mode may dial: both pure (their socket glue lives next to them)
      'src/http/head.ts', 'src/forward/fence.ts',
      // etcd's range answers read from their protobuf bytes (source/etcd.ts makes the call)
      'src/source/range-decode.ts',
      // the bench's response reader, statistics and chart writer: bytes and numbers in, no I/O
      'src/bench/http1.ts', 'src/bench/stats.ts', 'src/bench/svg.ts',
    ],
    rules: {
      'no-restricted-imports': ['error', { patterns: pureLayers }],
      'no-restricted-syntax': ['error',
        { selector: 'TryStatement', message: 'pure layers return status codes, they do not catch' },
        { selector: "NewExpression[callee.name='RegExp']", message: 'no regular expressions on the hot path' },
        { selector: "CallExpression[callee.object.name='Buffer'][callee.property.name='concat']", message: 'no Buffer.concat on the hot path' },
      ],
    },
  },
  {
    // names/ is the base of the pure layers: it may not import the codecs that build on it.
    files: ['src/names/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [...pureLayers, '**/hello/**', '**/routes/**'] }],
    },
  },
  {
    // routes/normalize.ts converts Unicode patterns to A-labels with node:url domainToASCII (IDNA, UTS #46);
    // it runs at config load only, never on the hot path. Every other pure-layer restriction still applies.
    files: ['src/routes/normalize.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [...pureLayers, '!node:url'] }],
    },
  },
  {
    // quic/keys.ts derives the QUIC Initial keys and opens Initial packets with node:crypto (HKDF, AES-GCM,
    // AES-ECB); a failed AEAD open throws there and is turned into a status, so it may catch. The rest of
    // quic/ stays pure and reaches crypto only through keys.ts.
    files: ['src/quic/keys.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [...pureLayers, '!node:crypto'] }],
      'no-restricted-syntax': ['error',
        { selector: "NewExpression[callee.name='RegExp']", message: 'no regular expressions on the hot path' },
      ],
    },
  },
  {
    // worker threads read and write shared memory only: prom-client and the admin endpoint live on the
    // main thread, and loading them in every worker would cost memory for nothing
    files: ['src/relay/**/*.ts', 'src/pool/worker.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['prom-client', '**/metrics/prometheus.ts', '**/admin/**'] }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'exit', message: 'only src/cli.ts exits the process' }],
    },
  },
]

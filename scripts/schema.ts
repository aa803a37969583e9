/**
 * `npm run schema`: write hellogate.schema.json (the config file's JSON Schema, for editors) from
 * src/config/schema.ts. Run it after changing the schema; test/unit/config/json-schema.test.ts fails until
 * the committed file matches.
 */
import { writeFileSync } from 'node:fs'

import { CONFIG_SCHEMA_FILE, renderConfigJsonSchema } from '../src/config/json-schema.ts'

const target = new URL(`../${CONFIG_SCHEMA_FILE}`, import.meta.url)
writeFileSync(target, renderConfigJsonSchema())
process.stdout.write(`wrote ${target.pathname}\n`)

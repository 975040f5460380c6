// Checks the Vultr stand-in with Vultr's official Node.js client, @vultr/vultr-node: creates,
// lists and deletes a TXT record, and sees the documented error for a wrong API key.
//
// usage: node vultr.js BASE_URL API_KEY LABEL
//   BASE_URL  the API base, version included (http://127.0.0.1:PORT/v2)
//   LABEL     a label no other test uses; the record is _acme-challenge.LABEL.example.test
// Prints one JSON line of what it saw; exits non-zero on anything unexpected.

'use strict'

const assert = require('node:assert/strict')
const VultrNode = require('@vultr/vultr-node')

async function main () {
  const [baseUrl, apiKey, label] = process.argv.slice(2)
  if (!baseUrl || !apiKey || !label) {
    throw new Error('usage: node vultr.js BASE_URL API_KEY LABEL')
  }
  const vultr = VultrNode.initialize({ apiKey, baseUrl })
  const name = `_acme-challenge.${label}`
  const seen = {}

  const domain = await vultr.dns.getDomain({ 'dns-domain': 'example.test' })
  assert.equal(domain.domain.domain, 'example.test', JSON.stringify(domain))

  const created = await vultr.dns.createRecord({
    'dns-domain': 'example.test',
    name,
    type: 'TXT',
    data: '"value-one"',
    ttl: 120
  })
  assert.ok(created.record, `create answered ${created}`)
  seen.created = created.record

  const listed = await vultr.dns.listRecords({ 'dns-domain': 'example.test', per_page: 500 })
  seen.listed = listed.records.filter((r) => r.name === name)
  assert.deepEqual(seen.listed.map((r) => [r.type, r.data]), [['TXT', '"value-one"']])
  assert.equal(listed.meta.total, listed.records.length)

  // The client resolves with nothing on a 204.
  const deleted = await vultr.dns.deleteRecord({
    'dns-domain': 'example.test',
    'record-id': created.record.id
  })
  assert.equal(deleted, undefined, `delete answered ${deleted}`)
  const after = await vultr.dns.listRecords({ 'dns-domain': 'example.test' })
  assert.deepEqual(after.records.filter((r) => r.name === name), [])

  // The client hands back (does not throw) an Error carrying the API's `error` message.
  const wrong = VultrNode.initialize({ apiKey: 'wrong-key', baseUrl })
  const refused = await wrong.dns.listRecords({ 'dns-domain': 'example.test' })
  assert.ok(refused instanceof Error, `a wrong key answered ${JSON.stringify(refused)}`)
  seen.unauthorized = refused.message
  assert.equal(refused.message, 'Unauthorized: Invalid API token.')

  const missing = await vultr.dns.getDomain({ 'dns-domain': 'no-such-zone.test' })
  assert.ok(missing instanceof Error, `an unknown domain answered ${JSON.stringify(missing)}`)
  seen.not_found = missing.message

  console.log(JSON.stringify(seen))
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err))
  process.exit(1)
})

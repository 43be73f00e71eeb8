// Package airtableemu is a local, in-memory emulator of the Airtable Web API
// (v0) for tests and development.
//
// It serves the part of the REST API that github.com/mehanizm/airtable uses —
// list records (pageSize, offset, fields[], filterByFormula, maxRecords,
// sort), get, create, update (PATCH merge / PUT replace) and delete records,
// plus the meta endpoints for bases and table schemas — with Airtable's
// behaviour where a sync job can trip over it: Bearer authentication, at most
// 10 records per write, empty cells left out of responses, opaque list offsets
// that expire (LIST_RECORDS_ITERATOR_NOT_AVAILABLE), a per-base rate limit
// whose 429 puts the base into a penalty period, and Airtable-shaped error
// bodies. Faults (truncated listings, 5xx on a given page, failing requests,
// added latency, expiring every offset at once) can be injected per base
// through Go methods or the admin HTTP API under /_emulator/.
//
// Point the real client at it with
//
//	client := airtable.NewClient("any-key")
//	client.SetBaseURL(server.URL + "/v0")
//
// SeedDemo loads deterministic demo bases with a Leads table.
//
// Listing walks: an offset ("itr…/rec…") names a server-side iterator that
// sees the records that existed when the walk started, minus those deleted
// since, in creation order (or in sort order when sort is given); each page
// served keeps the iterator alive for the offset TTL. view is ignored.
//
// # Admin API
//
// The admin API has no authentication and speaks JSON. Durations are Go
// duration strings ("200ms") or numbers of milliseconds.
//
//	GET    /_emulator/health
//	GET    /_emulator/stats                       Stats
//	DELETE /_emulator/stats                       reset counters
//	GET    /_emulator/settings                    {"rateLimit","penalty","offsetTTL","apiKeySet"}
//	PATCH  /_emulator/settings                    {"rateLimit"?,"penalty"?,"offsetTTL"?,"apiKey"?}
//	POST   /_emulator/seed-demo                   SeedDemo (replaces the demo bases) → [DemoBase]
//	GET    /_emulator/bases                       [BaseInfo]
//	POST   /_emulator/bases                       {"id"?,"name"?,"tables":[TableSpec]} → BaseInfo
//	GET    /_emulator/bases/{base}                BaseInfo
//	DELETE /_emulator/bases/{base}
//	POST   /_emulator/bases/{base}/tables         TableSpec
//	GET    /_emulator/bases/{base}/tables/{table}/records   {"records":[Record]}
//	POST   /_emulator/bases/{base}/tables/{table}/records   {"records":[Record]} → {"created","ids"}
//	DELETE /_emulator/bases/{base}/tables/{table}/records   {"ids":[…]} or ?all=true → {"deleted"}
//	PATCH  /_emulator/bases/{base}/tables/{table}/fields/{field}  {"name"} rename a column
//	GET    /_emulator/bases/{base}/faults         Faults
//	PUT    /_emulator/bases/{base}/faults         Faults (replace)
//	PATCH  /_emulator/bases/{base}/faults         Faults keys to set; null removes one
//	DELETE /_emulator/bases/{base}/faults         clear
//	DELETE /_emulator/faults                      clear every base's faults
//	POST   /_emulator/bases/{base}/offsets/expire → {"expired"}
//	POST   /_emulator/offsets/expire              every base → {"expired"}
//	POST   /_emulator/bases/{base}/penalty        {"duration"?} rate-limit the base now
//	PATCH  /_emulator/bases/{base}/tables/{table}/records   {"records":[{id,fields}]} change records (one transaction)
//	GET    /_emulator/bases/{base}/webhooks       {"webhooks":[WebhookInfo]}
//	POST   /_emulator/bases/{base}/webhooks/{id}/drop-notifications  {"count"?} drop the next notification(s)
//	POST   /_emulator/bases/{base}/webhooks/{id}/expire-cursor       forget every payload so far
//	POST   /_emulator/bases/{base}/webhooks/{id}/disable             isHookEnabled=false
//	POST   /_emulator/bases/{base}/webhooks/{id}/disable-notifications areNotificationsEnabled=false (payloads kept)
//	POST   /_emulator/bases/{base}/webhooks/{id}/expire              reach the expiration time now
//
// # Webhooks
//
// POST /v0/bases/{base}/webhooks (notificationUrl, specification.options
// filters dataTypes ["tableData"], recordChangeScope tbl…, includes
// includeCellValuesInFieldIds "all") answers {id, macSecretBase64,
// expirationTime} (7 days); GET lists them (isHookEnabled,
// cursorForNextPayload, expirationTime, lastNotificationResult); POST
// …/{id}/refresh extends the life by 7 days; DELETE removes one; GET
// …/{id}/payloads?cursor=N&limit=L (50 at most) answers {payloads, cursor,
// mightHaveMore, payloadFormat}. Every write (Web API, Go methods, admin
// API) is one transaction and one payload per live webhook covering the
// table: createdRecordsById (every cell by field id), changedRecordsById
// (current = the changed cells, a cleared one as null; previous; unchanged =
// the other cells when includeCellValuesInFieldIds is "all"),
// destroyedRecordIds. After a change the emulator POSTs, 20 ms later and
// coalescing what came meanwhile, {"base":{"id"},"webhook":{"id"},"timestamp"}
// to notificationUrl with X-Airtable-Content-MAC: hmac-sha256=<hex of
// HMAC-SHA256(secret, body)>. Payload requests count and are rate limited
// like every API request. An unknown webhook is 404 NOT_FOUND; a cursor
// before the oldest retained payload (after expire-cursor) is 422
// INVALID_CURSOR. A disabled or expired webhook records no payloads and
// sends no notifications.
package airtableemu

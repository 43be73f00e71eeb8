// Package migrations embeds the SQL schema migrations, applied with goose.
package migrations

import "embed"

// FS holds every migration file; goose reads them in version order.
//
//go:embed *.sql
var FS embed.FS

package db_test

import (
	"context"
	"testing"

	"github.com/nurture-sms/nurture/internal/db"
	"github.com/nurture-sms/nurture/internal/testenv"
)

// Every migration goes down and up again cleanly.
func TestMigrationsDownAndUp(t *testing.T) {
	ctx := context.Background()
	d, err := testenv.NewDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tables := func() int {
		var n int
		if err := d.Pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'goose_db_version'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	up := tables()
	if up < 7 {
		t.Fatalf("only %d tables after up", up)
	}
	if err := db.MigrateDown(ctx, d.Pool); err != nil {
		t.Fatal(err)
	}
	if n := tables(); n != 0 {
		t.Fatalf("%d tables left after down", n)
	}
	if err := db.Migrate(ctx, d.Pool); err != nil {
		t.Fatal(err)
	}
	if n := tables(); n != up {
		t.Fatalf("%d tables after up again, want %d", n, up)
	}
}

func TestEnsureDatabaseCreatesOnce(t *testing.T) {
	ctx := context.Background()
	d, err := testenv.NewDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// Exists already: no error. Unreachable server: ErrUnreachable.
	if err := db.EnsureDatabase(ctx, d.URL); err != nil {
		t.Fatal(err)
	}
	err = db.EnsureDatabase(ctx, "postgres://postgres@127.0.0.1:1/nope?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("no error for an unreachable server")
	}
	if got := db.Redact("postgres://u:secret@h/db"); got != "postgres://u:xxxxx@h/db" {
		t.Fatalf("redact: %s", got)
	}
}

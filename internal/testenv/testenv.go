// Package testenv gives tests the real services: a freshly migrated
// PostgreSQL database per test package and a Temporal dev server started
// from ./bin/temporal. A missing service fails the tests; nothing is
// skipped and nothing is downloaded.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/nurture-sms/nurture/internal/db"
	"github.com/nurture-sms/nurture/workflows"
)

// Database is a throw-away database with every migration applied.
type Database struct {
	Pool  *pgxpool.Pool
	URL   string
	name  string
	admin string
}

// BaseURL is the server tests create their databases on
// (TEST_DATABASE_URL, default the local Postgres).
func BaseURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// NewDatabase creates nurture_test_<random> and migrates it up.
func NewDatabase(ctx context.Context) (*Database, error) {
	admin := BaseURL()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "nurture_test_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return nil, fmt.Errorf("tests need PostgreSQL at TEST_DATABASE_URL=%s: %w", db.Redact(admin), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return nil, fmt.Errorf("create test database: %w", err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		return nil, err
	}
	u.Path = "/" + name
	d := &Database{URL: u.String(), name: name, admin: admin}
	d.Pool, err = db.Open(ctx, d.URL, 30)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, d.Pool); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Close drops the database.
func (d *Database) Close() {
	if d.Pool != nil {
		d.Pool.Close()
	}
	ctx := context.Background()
	if conn, err := pgx.Connect(ctx, d.admin); err == nil {
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+d.name+" WITH (FORCE)")
		_ = conn.Close(ctx)
	}
}

// RepoRoot is the directory holding go.mod.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// TemporalBinary is the CLI the Makefile installs.
func TemporalBinary() string { return filepath.Join(RepoRoot(), "bin", "temporal") }

// SearchAttributeArgs are the dev-server flags registering our attributes.
func SearchAttributeArgs() []string {
	names := make([]string, 0, len(workflows.SearchAttributes))
	for n := range workflows.SearchAttributes {
		names = append(names, n)
	}
	sort.Strings(names)
	var args []string
	for _, n := range names {
		args = append(args, "--search-attribute", n+"="+workflows.SearchAttributes[n])
	}
	return args
}

// StartTemporal starts an in-memory dev server on a free port.
func StartTemporal(ctx context.Context) (*testsuite.DevServer, error) {
	bin := TemporalBinary()
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("tests need the Temporal CLI at %s (run `make bin/temporal`): %w", bin, err)
	}
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: bin,
		ClientOptions: &client.Options{Namespace: "default", Logger: tlog.NewStructuredLogger(
			slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))},
		LogLevel:  "error",
		ExtraArgs: append(SearchAttributeArgs(), "--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true"),
		Stdout:    os.Stderr,
		Stderr:    os.Stderr,
	})
	if err != nil {
		return nil, fmt.Errorf("start temporal dev server: %w", err)
	}
	return srv, nil
}

// DayZone is an IANA Etc/GMT zone where it is between 10:00 and 18:00 at
// now: inside every default quiet-hours window with hours to spare, so a
// test or bench that sends does not depend on the time of day it runs.
func DayZone(now time.Time) (string, error) {
	for off := -12; off <= 14; off++ {
		name := "Etc/GMT" // POSIX signs: Etc/GMT-3 is UTC+3
		if off > 0 {
			name += "-" + strconv.Itoa(off)
		} else if off < 0 {
			name += "+" + strconv.Itoa(-off)
		}
		loc, err := time.LoadLocation(name)
		if err != nil {
			return "", err
		}
		if h := now.In(loc).Hour(); h >= 10 && h < 18 {
			return name, nil
		}
	}
	return "", fmt.Errorf("no Etc/GMT zone has daytime at %s", now)
}

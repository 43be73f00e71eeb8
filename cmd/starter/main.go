// Command starter is Nurture's command-line client: migrations, clients,
// tokens, and (through Temporal) campaigns and syncs.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/nurture-sms/nurture/internal/config"
	"github.com/nurture-sms/nurture/internal/db"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := rootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "starter",
		Short:         "Nurture command-line client",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(migrateCmd(), tokenCmd(), clientCmd(), searchAttributesCmd(), demoCmd(), syncCmd())
	return root
}

// openDB connects to DATABASE_URL, saying in one line what to fix when Postgres is not there.
func openDB(ctx context.Context, create bool) (*pgxpool.Pool, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	if create {
		if err := db.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
			return nil, unreachable(cfg.DatabaseURL, err)
		}
	}
	pool, err := db.Open(ctx, cfg.DatabaseURL, 4)
	if err != nil {
		return nil, unreachable(cfg.DatabaseURL, err)
	}
	return pool, nil
}

func unreachable(dsn string, err error) error {
	if errors.Is(err, db.ErrUnreachable) {
		return fmt.Errorf("cannot reach PostgreSQL at DATABASE_URL=%s (start Postgres or set DATABASE_URL)", db.Redact(dsn))
	}
	return err
}

func migrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:       "migrate [up|down]",
		Short:     "Create the database if absent and apply (or roll back) migrations",
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: []string{"up", "down"},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "up"
			if len(args) == 1 {
				dir = args[0]
			}
			if dir != "up" && dir != "down" {
				return fmt.Errorf("migrate takes up or down, not %q", dir)
			}
			pool, err := openDB(cmd.Context(), dir == "up")
			if err != nil {
				return err
			}
			defer pool.Close()
			if dir == "down" {
				return db.MigrateDown(cmd.Context(), pool)
			}
			if err := db.Migrate(cmd.Context(), pool); err != nil {
				return err
			}
			fmt.Println("migrations applied")
			return nil
		},
	}
	return cmd
}

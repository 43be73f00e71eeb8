package main

import (
	"context"
	"fmt"
	"sort"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/nurture-sms/nurture/internal/store"
	"github.com/nurture-sms/nurture/workflows"
)

func searchAttributesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "search-attributes",
		Short: "Print the custom search attributes as NAME=TYPE (for temporal server start-dev --search-attribute)",
		Args:  cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			names := make([]string, 0, len(workflows.SearchAttributes))
			for n := range workflows.SearchAttributes {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Printf("%s=%s\n", n, workflows.SearchAttributes[n])
			}
		},
	}
}

// demoClients are created by `make run` so a new user has data at once.
// Their Airtable bases are the emulator's demo bases (internal/airtableemu).
var demoClients = []struct {
	Name, Timezone, Base string
}{
	{"Acme Dental", "America/New_York", "appDemoAcme000001"},
	{"Globex Realty", "America/Los_Angeles", "appDemoGlobex0001"},
}

func demoCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "demo", Short: "Local demo data"}
	var idsOnly bool
	setup := &cobra.Command{
		Use:   "setup",
		Short: "Create the demo clients (idempotent), pointing at the Airtable emulator's demo bases",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			pool, err := openDB(ctx, false)
			if err != nil {
				return err
			}
			defer pool.Close()
			st := store.New(pool)
			for _, d := range demoClients {
				id, created, err := ensureClient(ctx, st, d.Name, d.Timezone, d.Base)
				if err != nil {
					return err
				}
				state := "exists"
				if created {
					state = "created"
				}
				if idsOnly {
					fmt.Println(id)
					continue
				}
				fmt.Printf("demo client %-18s %s (%s; Airtable base %s)\n", d.Name, id, state, d.Base)
			}
			return nil
		},
	}
	setup.Flags().BoolVarP(&idsOnly, "ids", "q", false, "print only the client IDs")
	cmd.AddCommand(setup)
	return cmd
}

func ensureClient(ctx context.Context, st *store.Store, name, tz, base string) (uuid.UUID, bool, error) {
	var id uuid.UUID
	err := st.Pool.QueryRow(ctx, `SELECT id FROM clients WHERE lower(name) = lower($1)`, name).Scan(&id)
	if err == nil {
		return id, false, nil
	}
	c, err := st.CreateClient(ctx, store.NewClient{Name: name, Timezone: tz, AirtableBaseID: base, AirtableTable: "Leads"}, "demo")
	if err != nil {
		return uuid.Nil, false, fmt.Errorf("create demo client: %w", err)
	}
	return c.ID, true, nil
}

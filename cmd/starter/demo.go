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
	Leads                int
}{
	{"Acme Dental", "America/New_York", "appDemoAcme000001", 700},
	{"Globex Realty", "America/Los_Angeles", "appDemoGlobex0001", 500},
}

func demoCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "demo", Short: "Local demo data"}
	cmd.AddCommand(&cobra.Command{
		Use:   "setup",
		Short: "Create the demo clients (idempotent) with demo leads",
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
				n, err := seedDemoLeads(ctx, st, id, d.Leads)
				if err != nil {
					return err
				}
				state := "exists"
				if created {
					state = "created"
				}
				fmt.Printf("demo client %-18s %s (%s, %d leads added)\n", d.Name, id, state, n)
			}
			return nil
		},
	})
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

// seedDemoLeads gives a demo client n leads if it has none (deterministic
// names, fake +1555 numbers, example.com addresses). It stands in for the
// first Airtable sync until the sync workflow exists.
func seedDemoLeads(ctx context.Context, st *store.Store, client uuid.UUID, n int) (int, error) {
	tag, err := st.Pool.Exec(ctx, `
		INSERT INTO leads (client_id, airtable_record_id, first_name, last_name, phone, email, timezone, tags, icp_score, engagement_level, status, booked, sms_stop, created_at)
		SELECT $1::uuid, 'recDemo' || lpad(g::text, 10, '0'),
		       (ARRAY['Ava','Ben','Cleo','Dev','Eli','Fay','Gus','Hana','Ivan','Jo'])[1 + g % 10],
		       (ARRAY['Smith','Jones','Garcia','Khan','Lee','Novak','Okafor','Rossi'])[1 + g % 8],
		       '+1555' || lpad(g::text, 7, '0'), 'demo' || g || '@example.com',
		       (ARRAY['America/New_York','America/Chicago','America/Denver','America/Los_Angeles'])[1 + g % 4],
		       CASE g % 4 WHEN 0 THEN ARRAY['webinar-2025','vip'] WHEN 1 THEN ARRAY['webinar-2025','newsletter']
		                  WHEN 2 THEN ARRAY['cold','newsletter'] ELSE ARRAY['referral','vip'] END,
		       (g * 37) % 101, (ARRAY['low','medium','high','unknown'])[1 + g % 4], (ARRAY['new','contacted','engaged'])[1 + g % 3],
		       g % 17 = 0, g % 23 = 0, now() - make_interval(hours => g)
		FROM generate_series(1, $2) g
		WHERE NOT EXISTS (SELECT 1 FROM leads WHERE client_id = $1::uuid)`, client, n)
	if err != nil {
		return 0, fmt.Errorf("seed demo leads: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

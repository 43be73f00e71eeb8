package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/nurture-sms/nurture/api"
	"github.com/nurture-sms/nurture/internal/store"
)

func tokenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens"}
	var req api.CreateTokenRequest
	var quiet bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a token directly in the database (prints it once)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			nt, err := req.Validate()
			if err != nil {
				return err
			}
			pool, err := openDB(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer pool.Close()
			tok, secret, err := store.New(pool).CreateToken(cmd.Context(), nt, "cli")
			if err != nil {
				return fmt.Errorf("create token: %w", err)
			}
			if quiet {
				fmt.Println(secret)
				return nil
			}
			return printJSON(map[string]any{"id": tok.ID, "role": tok.Role, "client_id": tok.ClientID, "token": secret})
		},
	}
	create.Flags().StringVar(&req.Role, "role", "super_admin", "super_admin, client_admin or client_viewer")
	create.Flags().StringVar(&req.ClientID, "client-id", "", "client UUID (client roles)")
	create.Flags().StringVar(&req.Name, "name", "cli", "label for the token")
	create.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the token")
	cmd.AddCommand(create)
	return cmd
}

func clientCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "client", Short: "Manage clients (tenants)"}
	var req api.CreateClientRequest
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a client directly in the database",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := req.Validate(); err != nil {
				return err
			}
			pool, err := openDB(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer pool.Close()
			c, err := store.New(pool).CreateClient(cmd.Context(), store.NewClient{
				Name: req.Name, Timezone: req.Timezone, AirtableBaseID: req.AirtableBaseID, AirtableTable: req.AirtableTable,
				AlertWebhookURL: req.AlertWebhookURL, AlertEmail: req.AlertEmail,
			}, "cli")
			if err != nil {
				return fmt.Errorf("create client: %w", err)
			}
			return printJSON(c)
		},
	}
	f := create.Flags()
	f.StringVar(&req.Name, "name", "", "client name (required)")
	f.StringVar(&req.Timezone, "timezone", "UTC", "IANA time zone")
	f.StringVar(&req.AirtableBaseID, "airtable-base", "", "Airtable base ID")
	f.StringVar(&req.AirtableTable, "airtable-table", "Leads", "Airtable table name")
	f.StringVar(&req.AlertWebhookURL, "alert-webhook", "", "URL that receives signed alert POSTs")
	f.StringVar(&req.AlertEmail, "alert-email", "", "address that receives alert e-mails")
	cmd.AddCommand(create)
	for _, disable := range []bool{true, false} {
		use, short := "enable ID", "Enable a client again (its failed campaigns can then retry-activation)"
		if disable {
			use, short = "disable ID", "Disable a client: its campaigns fail activation until it is enabled"
		}
		cmd.AddCommand(&cobra.Command{
			Use: use, Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				id, err := uuid.Parse(args[0])
				if err != nil {
					return fmt.Errorf("client ID must be a UUID")
				}
				pool, err := openDB(cmd.Context(), false)
				if err != nil {
					return err
				}
				defer pool.Close()
				if err := store.New(pool).SetClientDisabled(cmd.Context(), id, disable, "cli"); err != nil {
					return fmt.Errorf("client %s: %w", id, err)
				}
				fmt.Printf("client %s disabled=%v\n", id, disable)
				return nil
			},
		})
	}
	return cmd
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

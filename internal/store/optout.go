package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// OptOut records that phone opted out of the client's messages (source
// says how: "sms:STOP", "airtable", "api") and, in the same transaction,
// stops every lead of the client with that phone and ends their active
// enrollments (status stopped). No sync clears it: only OptIn does. It
// answers how many leads it stopped and how many enrollments it ended.
func (s *Store) OptOut(ctx context.Context, clientID uuid.UUID, phone, source string) (leads, ended int, err error) {
	err = s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO sms_opt_outs (client_id, phone, source) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			clientID, phone, source); err != nil {
			return fmt.Errorf("record opt-out: %w", err)
		}
		return tx.QueryRow(ctx, `
			WITH l AS (
				UPDATE leads SET sms_stop = true, updated_at = now() WHERE client_id = $1 AND phone = $2 AND NOT sms_stop RETURNING id
			), e AS (
				UPDATE campaign_enrollments SET status = 'stopped', ended_at = clock_timestamp(), writeback = 'pending'
				WHERE client_id = $1 AND status = 'active' AND lead_id IN (SELECT id FROM leads WHERE client_id = $1 AND phone = $2)
				RETURNING 1
			)
			SELECT (SELECT count(*) FROM l), (SELECT count(*) FROM e)`, clientID, phone).Scan(&leads, &ended)
	})
	return leads, ended, err
}

// OptIn clears the opt-out of phone at the client (a START from that
// phone): the phone's leads may be messaged again.
func (s *Store) OptIn(ctx context.Context, clientID uuid.UUID, phone string) (int, error) {
	var n int
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM sms_opt_outs WHERE client_id = $1 AND phone = $2`, clientID, phone); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE leads SET sms_stop = false, updated_at = now() WHERE client_id = $1 AND phone = $2 AND sms_stop`, clientID, phone)
		n = int(tag.RowsAffected())
		return err
	})
	return n, err
}

// SharedNumberOptOut records phone's opt-out at every client sending from
// the deployment's shared number (no number of its own), in one statement:
// a STOP to a number is about that number, so a client that has no lead of
// that phone yet must not message it once one is imported (the sync reads
// sms_opt_outs). The clients that have such a lead also go through OptOut
// (their leads and enrollments). It answers how many opt-outs were new.
func (s *Store) SharedNumberOptOut(ctx context.Context, phone, source string) (int, error) {
	tag, err := s.Pool.Exec(ctx, `INSERT INTO sms_opt_outs (client_id, phone, source)
		SELECT c.id, $1, $2 FROM clients c WHERE c.sms_from = '' ON CONFLICT DO NOTHING`, phone, source)
	return int(tag.RowsAffected()), err
}

// SharedNumberOptIn clears phone's STOPs at every client sending from the
// shared number (a START to it); leads go through OptIn. Opt-outs from
// another source (Airtable's SMS Stop, the provider's 21610) stay.
func (s *Store) SharedNumberOptIn(ctx context.Context, phone string) (int, error) {
	tag, err := s.Pool.Exec(ctx, `DELETE FROM sms_opt_outs o USING clients c
		WHERE c.id = o.client_id AND c.sms_from = '' AND o.phone = $1 AND o.source = 'sms:STOP'`, phone)
	return int(tag.RowsAffected()), err
}

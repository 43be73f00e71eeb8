package airtableemu

import (
	"encoding/json"
	"errors"
	"net/http"
)

// registerAdmin adds the admin routes listed in the package documentation.
func (e *Emulator) registerAdmin(mux *http.ServeMux) {
	e.registerWebhookAdmin(mux)
	mux.HandleFunc("GET /_emulator/health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("GET /_emulator/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.Stats())
	})
	mux.HandleFunc("DELETE /_emulator/stats", func(w http.ResponseWriter, r *http.Request) {
		e.ResetStats()
		writeJSON(w, http.StatusOK, e.Stats())
	})
	mux.HandleFunc("GET /_emulator/settings", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, settingsJSON(e.Settings()))
	})
	mux.HandleFunc("PATCH /_emulator/settings", e.adminPatchSettings)
	mux.HandleFunc("POST /_emulator/seed-demo", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusCreated, SeedDemo(e))
	})
	mux.HandleFunc("GET /_emulator/bases", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.Bases())
	})
	mux.HandleFunc("POST /_emulator/bases", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ID     string      `json:"id"`
			Name   string      `json:"name"`
			Tables []TableSpec `json:"tables"`
		}
		if !adminDecode(w, r, &body) {
			return
		}
		id, err := e.CreateBase(body.ID, body.Name, body.Tables...)
		if err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		bi, _ := e.Base(id)
		writeJSON(w, http.StatusCreated, bi)
	})
	mux.HandleFunc("GET /_emulator/bases/{base}", func(w http.ResponseWriter, r *http.Request) {
		bi, err := e.Base(r.PathValue("base"))
		if err != nil {
			adminError(w, http.StatusNotFound, err)
			return
		}
		writeJSON(w, http.StatusOK, bi)
	})
	mux.HandleFunc("DELETE /_emulator/bases/{base}", func(w http.ResponseWriter, r *http.Request) {
		if !e.DeleteBase(r.PathValue("base")) {
			adminError(w, http.StatusNotFound, ErrNotFound)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"deleted": true})
	})
	mux.HandleFunc("POST /_emulator/bases/{base}/tables", func(w http.ResponseWriter, r *http.Request) {
		var spec TableSpec
		if !adminDecode(w, r, &spec) {
			return
		}
		if err := e.CreateTable(r.PathValue("base"), spec); err != nil {
			adminError(w, statusFor(err), err)
			return
		}
		bi, _ := e.Base(r.PathValue("base"))
		writeJSON(w, http.StatusCreated, bi)
	})
	mux.HandleFunc("GET /_emulator/bases/{base}/tables/{table}/records", func(w http.ResponseWriter, r *http.Request) {
		recs, err := e.Records(r.PathValue("base"), r.PathValue("table"))
		if err != nil {
			adminError(w, statusFor(err), err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"records": recs})
	})
	mux.HandleFunc("POST /_emulator/bases/{base}/tables/{table}/records", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Records []Record `json:"records"`
		}
		if !adminDecode(w, r, &body) {
			return
		}
		ids, err := e.SeedRecords(r.PathValue("base"), r.PathValue("table"), body.Records)
		if err != nil {
			adminError(w, statusFor(err), err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"created": len(ids), "ids": ids})
	})
	mux.HandleFunc("DELETE /_emulator/bases/{base}/tables/{table}/records", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			IDs []string `json:"ids"`
		}
		if r.ContentLength != 0 && !adminDecode(w, r, &body) {
			return
		}
		body.IDs = append(body.IDs, r.URL.Query()["ids"]...)
		if len(body.IDs) == 0 && r.URL.Query().Get("all") != "true" {
			adminError(w, http.StatusBadRequest, errors.New(`give "ids" or ?all=true`))
			return
		}
		n, err := e.DeleteRecords(r.PathValue("base"), r.PathValue("table"), body.IDs...)
		if err != nil {
			adminError(w, statusFor(err), err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"deleted": n})
	})
	mux.HandleFunc("PATCH /_emulator/bases/{base}/tables/{table}/fields/{field}", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Name string `json:"name"`
		}
		if !adminDecode(w, r, &body) {
			return
		}
		if err := e.RenameField(r.PathValue("base"), r.PathValue("table"), r.PathValue("field"), body.Name); err != nil {
			adminError(w, statusFor(err), err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"name": body.Name})
	})
	mux.HandleFunc("GET /_emulator/bases/{base}/faults", func(w http.ResponseWriter, r *http.Request) {
		f, err := e.GetFaults(r.PathValue("base"))
		if err != nil {
			adminError(w, statusFor(err), err)
			return
		}
		writeJSON(w, http.StatusOK, f)
	})
	mux.HandleFunc("PUT /_emulator/bases/{base}/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if !adminDecode(w, r, &f) {
			return
		}
		e.adminFaults(w, r.PathValue("base"), func(cur *Faults) { *cur = f })
	})
	mux.HandleFunc("PATCH /_emulator/bases/{base}/faults", func(w http.ResponseWriter, r *http.Request) {
		var raw map[string]json.RawMessage
		if !adminDecode(w, r, &raw) {
			return
		}
		// Decode the keys present over an empty Faults to validate them.
		b, _ := json.Marshal(raw)
		var f Faults
		if err := json.Unmarshal(b, &f); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		e.adminFaults(w, r.PathValue("base"), func(cur *Faults) {
			if _, ok := raw["truncate"]; ok {
				cur.Truncate = f.Truncate
			}
			if _, ok := raw["failPage"]; ok {
				cur.FailPage = f.FailPage
			}
			if _, ok := raw["failNext"]; ok {
				cur.FailNext = f.FailNext
			}
			if _, ok := raw["latency"]; ok {
				cur.Latency = f.Latency
			}
		})
	})
	mux.HandleFunc("DELETE /_emulator/bases/{base}/faults", func(w http.ResponseWriter, r *http.Request) {
		e.adminFaults(w, r.PathValue("base"), func(cur *Faults) { *cur = Faults{} })
	})
	mux.HandleFunc("DELETE /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		_ = e.ClearFaults("")
		writeJSON(w, http.StatusOK, map[string]bool{"cleared": true})
	})
	expire := func(w http.ResponseWriter, baseID string) {
		n, err := e.ExpireOffsets(baseID)
		if err != nil {
			adminError(w, statusFor(err), err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"expired": n})
	}
	mux.HandleFunc("POST /_emulator/bases/{base}/offsets/expire", func(w http.ResponseWriter, r *http.Request) {
		expire(w, r.PathValue("base"))
	})
	mux.HandleFunc("POST /_emulator/offsets/expire", func(w http.ResponseWriter, r *http.Request) {
		expire(w, "")
	})
	mux.HandleFunc("POST /_emulator/bases/{base}/penalty", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Duration any `json:"duration"`
		}
		if r.ContentLength != 0 && !adminDecode(w, r, &body) {
			return
		}
		d, err := parseDuration(body.Duration)
		if err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		if err := e.Penalize(r.PathValue("base"), d); err != nil {
			adminError(w, statusFor(err), err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"penalized": true})
	})
	mux.HandleFunc("/_emulator/", func(w http.ResponseWriter, r *http.Request) {
		adminError(w, http.StatusNotFound, errors.New("no such admin route"))
	})
}

func (e *Emulator) adminFaults(w http.ResponseWriter, baseID string, fn func(*Faults)) {
	if err := e.updateFaults(baseID, fn); err != nil {
		adminError(w, statusFor(err), err)
		return
	}
	f, _ := e.GetFaults(baseID)
	writeJSON(w, http.StatusOK, f)
}

func (e *Emulator) adminPatchSettings(w http.ResponseWriter, r *http.Request) {
	var body struct {
		RateLimit *int    `json:"rateLimit"`
		Penalty   any     `json:"penalty"`
		OffsetTTL any     `json:"offsetTTL"`
		APIKey    *string `json:"apiKey"`
	}
	if !adminDecode(w, r, &body) {
		return
	}
	pen, err := parseDuration(body.Penalty)
	if err != nil {
		adminError(w, http.StatusBadRequest, err)
		return
	}
	ttl, err := parseDuration(body.OffsetTTL)
	if err != nil {
		adminError(w, http.StatusBadRequest, err)
		return
	}
	if body.RateLimit != nil {
		e.SetRateLimit(*body.RateLimit)
	}
	if pen > 0 {
		e.SetPenalty(pen)
	}
	if ttl > 0 {
		e.SetOffsetTTL(ttl)
	}
	if body.APIKey != nil {
		e.SetAPIKey(*body.APIKey)
	}
	writeJSON(w, http.StatusOK, settingsJSON(e.Settings()))
}

func settingsJSON(s Settings) map[string]any {
	return map[string]any{
		"rateLimit": s.RateLimit,
		"penalty":   s.Penalty.String(),
		"offsetTTL": s.OffsetTTL.String(),
		"apiKeySet": s.APIKeySet,
	}
}

func adminDecode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 512<<20))
	if err := dec.Decode(v); err != nil {
		adminError(w, http.StatusBadRequest, err)
		return false
	}
	return true
}

func adminError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func statusFor(err error) int {
	if errors.Is(err, ErrNotFound) {
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}

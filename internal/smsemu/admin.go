package smsemu

import (
	"encoding/json"
	"errors"
	"net/http"
)

// registerAdmin adds the admin routes listed in the package documentation.
func (e *Emulator) registerAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET /_emulator/health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "accountSid": e.accountSID})
	})
	mux.HandleFunc("GET /_emulator/messages", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		msgs := e.Messages(Filter{To: q.Get("to"), From: q.Get("from"), Direction: q.Get("direction")})
		writeJSON(w, http.StatusOK, map[string]any{"count": len(msgs), "messages": msgs})
	})
	mux.HandleFunc("GET /_emulator/messages/count", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.Count())
	})
	mux.HandleFunc("GET /_emulator/messages/{sid}", func(w http.ResponseWriter, r *http.Request) {
		m, ok := e.Message(r.PathValue("sid"))
		if !ok {
			adminError(w, http.StatusNotFound, errors.New("no such message"))
			return
		}
		writeJSON(w, http.StatusOK, m)
	})
	mux.HandleFunc("DELETE /_emulator/messages", func(w http.ResponseWriter, r *http.Request) {
		e.Reset()
		writeJSON(w, http.StatusOK, map[string]bool{"deleted": true})
	})
	mux.HandleFunc("POST /_emulator/inbound", e.adminInbound)
	mux.HandleFunc("GET /_emulator/numbers", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.Numbers())
	})
	mux.HandleFunc("PUT /_emulator/numbers/{number}", func(w http.ResponseWriter, r *http.Request) {
		var cfg NumberConfig
		if !adminDecode(w, r, &cfg) {
			return
		}
		e.SetNumber(r.PathValue("number"), cfg)
		writeJSON(w, http.StatusOK, cfg)
	})
	mux.HandleFunc("DELETE /_emulator/numbers/{number}", func(w http.ResponseWriter, r *http.Request) {
		if !e.DeleteNumber(r.PathValue("number")) {
			adminError(w, http.StatusNotFound, errors.New("no such number"))
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"deleted": true})
	})
	mux.HandleFunc("GET /_emulator/optouts", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.OptOuts())
	})
	mux.HandleFunc("DELETE /_emulator/optouts", func(w http.ResponseWriter, r *http.Request) {
		e.ClearOptOuts()
		writeJSON(w, http.StatusOK, map[string]bool{"cleared": true})
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
	mux.HandleFunc("GET /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.Faults())
	})
	mux.HandleFunc("PUT /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if !adminDecode(w, r, &f) {
			return
		}
		if err := e.SetFaults(f); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, e.Faults())
	})
	mux.HandleFunc("PATCH /_emulator/faults", e.adminPatchFaults)
	mux.HandleFunc("DELETE /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		e.ClearFaults()
		writeJSON(w, http.StatusOK, e.Faults())
	})
	mux.HandleFunc("/_emulator/", func(w http.ResponseWriter, r *http.Request) {
		adminError(w, http.StatusNotFound, errors.New("no such admin route"))
	})
}

// adminInbound posts an inbound message and answers with the webhook's
// status, Content-Type and body (the message SID in X-Emulator-Message-Sid);
// 202 with {"sid"} when no webhook is configured, 502 when it cannot be
// reached.
func (e *Emulator) adminInbound(w http.ResponseWriter, r *http.Request) {
	var in Inbound
	if !adminDecode(w, r, &in) {
		return
	}
	res, err := e.Inbound(r.Context(), in)
	if errors.Is(err, ErrNoInboundSender) {
		adminError(w, http.StatusBadRequest, err)
		return
	}
	if res.Sid != "" {
		w.Header().Set("X-Emulator-Message-Sid", res.Sid)
	}
	if res.OptOut != "" {
		w.Header().Set("X-Emulator-Opt-Out", res.OptOut)
	}
	switch {
	case err != nil:
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error(), "sid": res.Sid, "url": res.URL})
	case res.URL == "":
		writeJSON(w, http.StatusAccepted, map[string]any{"sid": res.Sid, "url": nil})
	default:
		if ct := res.Header.Get("Content-Type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(res.Status)
		_, _ = w.Write(res.Body)
	}
}

func (e *Emulator) adminPatchSettings(w http.ResponseWriter, r *http.Request) {
	var body struct {
		CallbackDelay any     `json:"callbackDelay"`
		Callbacks     *bool   `json:"callbacks"`
		RateLimit     *int    `json:"rateLimit"`
		InboundURL    *string `json:"inboundUrl"`
		EnforceOptOut *bool   `json:"enforceOptOut"`
	}
	if !adminDecode(w, r, &body) {
		return
	}
	d, err := parseDuration(body.CallbackDelay)
	if err != nil {
		adminError(w, http.StatusBadRequest, err)
		return
	}
	if body.CallbackDelay != nil {
		e.SetCallbackDelay(d)
	}
	if body.Callbacks != nil {
		e.SetCallbacks(*body.Callbacks)
	}
	if body.RateLimit != nil {
		e.SetRateLimit(*body.RateLimit)
	}
	if body.InboundURL != nil {
		e.SetInboundURL(*body.InboundURL)
	}
	if body.EnforceOptOut != nil {
		e.SetEnforceOptOut(*body.EnforceOptOut)
	}
	writeJSON(w, http.StatusOK, settingsJSON(e.Settings()))
}

func settingsJSON(s Settings) map[string]any {
	return map[string]any{
		"callbackDelay": s.CallbackDelay.String(),
		"callbacks":     s.Callbacks,
		"rateLimit":     s.RateLimit,
		"inboundUrl":    s.InboundURL,
		"enforceOptOut": s.EnforceOptOut,
	}
}

// adminPatchFaults sets the keys present; a null value removes one. The
// keys of "numbers" are merged the same way.
func (e *Emulator) adminPatchFaults(w http.ResponseWriter, r *http.Request) {
	var patch map[string]json.RawMessage
	if !adminDecode(w, r, &patch) {
		return
	}
	e.fmu.Lock()
	defer e.fmu.Unlock()
	cur, _ := json.Marshal(e.faults)
	var merged map[string]json.RawMessage
	_ = json.Unmarshal(cur, &merged)
	if merged == nil {
		merged = map[string]json.RawMessage{}
	}
	for k, v := range patch {
		switch {
		case string(v) == "null":
			delete(merged, k)
		case k == "numbers":
			var curNums, patchNums map[string]json.RawMessage
			_ = json.Unmarshal(merged[k], &curNums)
			if err := json.Unmarshal(v, &patchNums); err != nil {
				adminError(w, http.StatusBadRequest, err)
				return
			}
			if curNums == nil {
				curNums = map[string]json.RawMessage{}
			}
			for n, nf := range patchNums {
				if string(nf) == "null" {
					delete(curNums, n)
				} else {
					curNums[n] = nf
				}
			}
			b, _ := json.Marshal(curNums)
			merged[k] = b
		default:
			merged[k] = v
		}
	}
	b, _ := json.Marshal(merged)
	var f Faults
	if err := json.Unmarshal(b, &f); err != nil {
		adminError(w, http.StatusBadRequest, err)
		return
	}
	if err := f.validate(); err != nil {
		adminError(w, http.StatusBadRequest, err)
		return
	}
	e.faults = f
	writeJSON(w, http.StatusOK, f)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"cannot encode response"}`)
	}
	writeRaw(w, status, b)
}

func adminDecode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		adminError(w, http.StatusBadRequest, err)
		return false
	}
	return true
}

func adminError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
